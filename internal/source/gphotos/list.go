package gphotos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/retry"
	"github.com/ps-photos/ps/internal/source"
)

// Picker API shapes (docs/protocols/google-photos.md §2.2).
type pickingSession struct {
	ID            string `json:"id"`
	PickerURI     string `json:"pickerUri"`
	ExpireTime    string `json:"expireTime"`
	MediaItemsSet bool   `json:"mediaItemsSet"`
	PollingConfig *struct {
		PollInterval string `json:"pollInterval"`
		TimeoutIn    string `json:"timeoutIn"`
	} `json:"pollingConfig"`
}

type pickedItem struct {
	ID         string `json:"id"`
	CreateTime string `json:"createTime"`
	Type       string `json:"type"`
	MediaFile  struct {
		BaseURL  string `json:"baseUrl"`
		MimeType string `json:"mimeType"`
		Filename string `json:"filename"`
		Metadata struct {
			Width       flexInt `json:"width"`
			Height      flexInt `json:"height"`
			CameraMake  string  `json:"cameraMake"`
			CameraModel string  `json:"cameraModel"`
		} `json:"mediaFileMetadata"`
	} `json:"mediaFile"`
}

// flexInt reads 4000 or "4000": the Picker documents integers, the
// Library API strings, and clients in the wild assume either.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	n, err := strconv.ParseInt(strings.Trim(string(b), `"`), 10, 64)
	if err != nil {
		return nil // unknown: leave 0
	}
	*f = flexInt(n)
	return nil
}

// listPicker creates a picking session, shows the user its link, polls
// until they tap Done, and lists what they picked.
func (s *Source) listPicker(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	if !opts.Since.IsZero() || !opts.Until.IsZero() {
		return source.Usagef("--since and --until apply to gphotos:library; gphotos:picker lists what the user picks")
	}
	flags := source.FlagsOf(opts, &ListFlags{})
	body := map[string]any{}
	if flags.Max > 0 {
		body["pickingConfig"] = map[string]any{"maxItemCount": strconv.Itoa(flags.Max)}
	}
	var ps pickingSession
	if err := s.call(ctx, http.MethodPost, s.picker+"/v1/sessions", body, &ps); err != nil {
		return err
	}
	s.logInfo("Pick photos in Google Photos (any device signed in to the same account), then tap Done:\n\n  " + ps.PickerURI + "\n")
	if !flags.NoBrowser {
		openBrowser(ps.PickerURI, s.env)
	}
	if err := s.waitPicked(ctx, &ps); err != nil {
		return err
	}
	return s.pickedPages(ctx, ps.ID, func(it *pickedItem, at time.Time) error {
		s.remember(it.ID, it.MediaFile.BaseURL, at)
		rec := s.pickedRecord(it, ps.ID)
		if err := s.addSize(ctx, opts, rec, it.MediaFile.BaseURL); err != nil {
			return err
		}
		return sink.Item(rec)
	})
}

// waitPicked polls the session as its pollingConfig asks.
func (s *Source) waitPicked(ctx context.Context, ps *pickingSession) error {
	deadline := time.Now().Add(30 * time.Minute)
	for !ps.MediaItemsSet {
		interval := time.Second
		if ps.PollingConfig != nil {
			if d, err := time.ParseDuration(ps.PollingConfig.PollInterval); err == nil && d > 0 {
				interval = d
			}
			if d, err := time.ParseDuration(ps.PollingConfig.TimeoutIn); err == nil {
				if d == 0 {
					return fault.Errorf(fault.Permanent, "the picking session %s timed out before anything was picked", ps.ID)
				}
				deadline = time.Now().Add(d)
			}
		}
		if time.Now().After(deadline) {
			return fault.Errorf(fault.Permanent, "nothing was picked before the session's timeout")
		}
		if err := retry.SleepCtx(ctx, interval); err != nil {
			return fault.Wrap(fault.Canceled, err)
		}
		if err := s.call(ctx, http.MethodGet, s.picker+"/v1/sessions/"+url.PathEscape(ps.ID), nil, ps); err != nil {
			return err
		}
	}
	return nil
}

// pickedPages walks every page of a session's picked items.
func (s *Source) pickedPages(ctx context.Context, session string, fn func(*pickedItem, time.Time) error) error {
	token := ""
	for {
		q := url.Values{"sessionId": {session}, "pageSize": {"100"}}
		if token != "" {
			q.Set("pageToken", token)
		}
		var page struct {
			MediaItems    []pickedItem `json:"mediaItems"`
			NextPageToken string       `json:"nextPageToken"`
		}
		at := time.Now()
		if err := s.call(ctx, http.MethodGet, s.picker+"/v1/mediaItems?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for i := range page.MediaItems {
			if err := fn(&page.MediaItems[i], at); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		token = page.NextPageToken
	}
}

func (s *Source) pickedRecord(it *pickedItem, session string) *record.Record {
	f := &it.MediaFile
	rec := &record.Record{Type: record.TypeItem, Source: s.Location(), ID: it.ID, Path: f.Filename, Name: f.Filename,
		Media: mediaOf(f.Filename, it.Type == "VIDEO")}
	if t, err := time.Parse(time.RFC3339Nano, it.CreateTime); err == nil {
		rec.Taken, rec.Mtime = t.UTC(), t.UTC()
	}
	rec.Meta = map[string]any{"mime_type": f.MimeType, "type": it.Type, "picker_session": session}
	addDims(rec.Meta, int64(f.Metadata.Width), int64(f.Metadata.Height))
	if f.Metadata.CameraMake != "" {
		rec.Meta["camera"] = strings.TrimSpace(f.Metadata.CameraMake + " " + f.Metadata.CameraModel)
	}
	return rec
}

func addDims(meta map[string]any, w, h int64) {
	if w > 0 && h > 0 {
		meta["width"], meta["height"] = w, h
	}
}

// mediaOf keeps RAW apart from other photos; video is what the API says.
func mediaOf(name string, video bool) string {
	if video {
		return record.MediaVideo
	}
	if m := record.MediaOf(name); m == record.MediaRaw || m == record.MediaPhoto {
		return m
	}
	return record.MediaPhoto
}

// Library API shapes (docs/protocols/google-photos.md §1.3).
type mediaItem struct {
	ID            string `json:"id"`
	Description   string `json:"description"`
	ProductURL    string `json:"productUrl"`
	BaseURL       string `json:"baseUrl"`
	MimeType      string `json:"mimeType"`
	Filename      string `json:"filename"`
	MediaMetadata struct {
		CreationTime string          `json:"creationTime"`
		Width        flexInt         `json:"width"`
		Height       flexInt         `json:"height"`
		Video        json.RawMessage `json:"video"`
	} `json:"mediaMetadata"`
}

type apiDate struct {
	Year  int `json:"year"`
	Month int `json:"month"`
	Day   int `json:"day"`
}

func dateOf(t time.Time) apiDate { return apiDate{t.Year(), int(t.Month()), t.Day()} }

// listLibrary lists app-created media: mediaItems.search with a date range
// when --since or --until is given (pushed down, as photosync's --dates),
// else mediaItems.list.
func (s *Source) listLibrary(ctx context.Context, opts source.ListOptions, sink source.Sink) error {
	var body map[string]any
	if !opts.Since.IsZero() || !opts.Until.IsZero() {
		since, until := opts.Since, opts.Until
		if since.IsZero() {
			since = time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if until.IsZero() {
			until = time.Now()
		}
		body = map[string]any{"pageSize": 100, "filters": map[string]any{
			"dateFilter":           map[string]any{"ranges": []any{map[string]any{"startDate": dateOf(since.UTC()), "endDate": dateOf(until.UTC())}}},
			"includeArchivedMedia": true,
		}}
	}
	token, lastID := "", ""
	for {
		var page struct {
			MediaItems    []mediaItem `json:"mediaItems"`
			NextPageToken string      `json:"nextPageToken"`
		}
		at := time.Now()
		var err error
		if body == nil {
			q := url.Values{"pageSize": {"100"}}
			if token != "" {
				q.Set("pageToken", token)
			}
			err = s.call(ctx, http.MethodGet, s.library+"/v1/mediaItems?"+q.Encode(), nil, &page)
		} else {
			body["pageToken"] = token
			err = s.call(ctx, http.MethodPost, s.library+"/v1/mediaItems:search", body, &page)
		}
		if err != nil {
			return err
		}
		for i, it := range page.MediaItems {
			// The API may repeat the last item of a page first on the next.
			if i == 0 && it.ID == lastID {
				continue
			}
			s.remember(it.ID, it.BaseURL, at)
			rec := s.libraryRecord(&it)
			if !opts.Since.IsZero() && rec.Taken.Before(opts.Since) || !opts.Until.IsZero() && rec.Taken.After(opts.Until) {
				continue // the API filters by whole days
			}
			if err := s.addSize(ctx, opts, rec, it.BaseURL); err != nil {
				return err
			}
			if err := sink.Item(rec); err != nil {
				return err
			}
		}
		if n := len(page.MediaItems); n > 0 {
			lastID = page.MediaItems[n-1].ID
		}
		if page.NextPageToken == "" {
			return nil
		}
		token = page.NextPageToken
	}
}

func (s *Source) libraryRecord(it *mediaItem) *record.Record {
	rec := &record.Record{Type: record.TypeItem, Source: s.Location(), ID: it.ID, Path: it.Filename, Name: it.Filename,
		Media: mediaOf(it.Filename, len(it.MediaMetadata.Video) > 0 && string(it.MediaMetadata.Video) != "null")}
	if t, err := time.Parse(time.RFC3339Nano, it.MediaMetadata.CreationTime); err == nil {
		rec.Taken, rec.Mtime = t.UTC(), t.UTC()
	}
	rec.Meta = map[string]any{"mime_type": it.MimeType}
	if it.Description != "" {
		rec.Meta["description"] = it.Description
	}
	if it.ProductURL != "" {
		rec.Meta["product_url"] = it.ProductURL
	}
	addDims(rec.Meta, int64(it.MediaMetadata.Width), int64(it.MediaMetadata.Height))
	return rec
}

// renewPicker lists the session's items again: every base URL is fresh.
func (s *Source) renewPicker(ctx context.Context, session string) error {
	if session == "" {
		return fault.Errorf(fault.Permanent, "the record has no meta.picker_session: list it again with ps-list gphotos:picker")
	}
	err := s.pickedPages(ctx, session, func(it *pickedItem, at time.Time) error {
		s.remember(it.ID, it.MediaFile.BaseURL, at)
		return nil
	})
	if c := fault.ClassOf(err); c == fault.NotFound || c == fault.Permanent {
		return fault.WithHint(fault.Permanent, fmt.Errorf("the picking session is gone or expired (%v): pick again", err), "ps-list gphotos:picker")
	}
	return err
}

// renewLibrary asks mediaItems.batchGet for a fresh base URL.
func (s *Source) renewLibrary(ctx context.Context, id string) error {
	var out struct {
		MediaItemResults []struct {
			MediaItem *mediaItem `json:"mediaItem"`
			Status    *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"status"`
		} `json:"mediaItemResults"`
	}
	at := time.Now()
	q := url.Values{"mediaItemIds": {id}}
	if err := s.call(ctx, http.MethodGet, s.library+"/v1/mediaItems:batchGet?"+q.Encode(), nil, &out); err != nil {
		return err
	}
	for _, r := range out.MediaItemResults {
		if r.MediaItem != nil && r.MediaItem.ID == id {
			s.remember(id, r.MediaItem.BaseURL, at)
			return nil
		}
		if r.Status != nil {
			return fault.Errorf(fault.NotFound, "Google Photos: %s (%s)", r.Status.Message, id)
		}
	}
	return fault.Errorf(fault.NotFound, "Google Photos has no media item %s", id)
}

// remember keeps a base URL Google just gave for an item.
func (s *Source) remember(id, baseURL string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fresh[id] = freshURL{baseURL, at}
}

// addSize asks for an item's size with a HEAD request with --sizes: the
// APIs report no sizes (each HEAD counts as a media-byte
// request against the daily quota).
func (s *Source) addSize(ctx context.Context, opts source.ListOptions, rec *record.Record, baseURL string) error {
	if !source.FlagsOf(opts, &ListFlags{}).Sizes {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, baseURL+param(rec), nil)
	if err != nil {
		return fault.Wrap(fault.Permanent, err)
	}
	_, err = s.policy.Do(ctx, func(int) error {
		resp, _, err := s.do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return classifyResponse(resp)
		}
		rec.Size = max(resp.ContentLength, 0)
		return nil
	})
	return err
}

// param is the base URL parameter that downloads the original bytes.
func param(rec *record.Record) string {
	if rec.Media == record.MediaVideo {
		return "=dv"
	}
	return "=d"
}
