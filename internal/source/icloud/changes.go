package icloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Incremental listing (ps-list --changes-since) through CloudKit's zone
// sync tokens (fact sheet 2.4, "Incremental sync"): the first run lists
// the library in full and keeps the zone's token, later runs ask
// changes/zone for what changed since it. A token the service refuses
// (expired, garbage) gives a full listing again.

// changeState is what a listing leaves for the next one.
type changeState struct {
	Database  string `json:"database"`
	Zone      string `json:"zone"`
	SyncToken string `json:"sync_token"`
}

// maxChangePages bounds one change listing: kei saw long runs of empty
// pages with moreComing, but not endless ones.
const maxChangePages = 100_000

// errFallBack means the change listing could not start (a refused token,
// an operation the service does not serve): list everything instead.
var errFallBack = errors.New("cannot list the changes")

// ListChanges implements source.ChangeLister for whole libraries.
func (s *Source) ListChanges(ctx context.Context, opts source.ListOptions, since []byte, sink source.Sink) ([]byte, bool, error) {
	flags := source.FlagsOf(opts, &ListFlags{})
	if s.loc.Album != "" || s.loc.Smart != "" || flags.ListAlbums || flags.ListLibraries {
		return nil, false, source.Usagef("--changes-since: iCloud lists changes of whole libraries only (icloud: or icloud:library/NAME/), not of %s", s.loc)
	}
	lib := flags.Library
	if lib == "" {
		lib = s.loc.Library
	}
	z, err := s.resolveZone(ctx, lib)
	if err != nil {
		return nil, false, err
	}
	rules, err := newItemRules(opts, flags)
	if err != nil {
		return nil, false, err
	}
	cl := &changeLister{src: s, z: z, rules: rules, sink: sink, location: s.locationFor(lib)}
	var prev changeState
	if len(since) > 0 {
		if err := json.Unmarshal(since, &prev); err != nil {
			s.c.log.Warn("icloud: the saved change state is unreadable; listing everything", "err", err)
		}
	}
	if prev.SyncToken != "" && prev.Zone == z.name && prev.Database == z.db {
		next, err := cl.run(ctx, prev.SyncToken)
		switch {
		case err == nil:
			return encodeState(z, next), true, nil
		case !errors.Is(err, errFallBack):
			return nil, false, err
		}
		s.c.log.Warn("icloud: " + err.Error() + "; listing the whole library instead")
	} else if prev.SyncToken != "" {
		s.c.log.Warn("icloud: the saved change state is for another library; listing everything", "zone", prev.Zone)
	}
	tok, err := s.fullListing(ctx, z, lib, rules, opts, sink)
	if err != nil {
		return nil, false, err
	}
	return encodeState(z, tok), false, nil
}

func encodeState(z zone, tok string) []byte {
	b, _ := json.Marshal(changeState{Database: z.db, Zone: z.name, SyncToken: tok})
	return b
}

// fullListing lists the library as List does and returns the zone's sync
// token from before the listing began, so a change made while it ran is
// listed again next time rather than missed.
func (s *Source) fullListing(ctx context.Context, z zone, lib string, rules itemRules, opts source.ListOptions, sink source.Sink) (string, error) {
	tok, err := s.indexingToken(ctx, z)
	if err != nil {
		return "", err
	}
	if tok == "" {
		// records/query answered without one: ask changes/database, which
		// names every zone with its current token.
		if tok, err = s.databaseToken(ctx, z); err != nil {
			return "", err
		}
	}
	l := &lister{src: s, z: z, q: allPhotos, rules: rules, sink: sink, location: s.locationFor(lib), opts: opts, seen: map[string]bool{}}
	if err := l.run(ctx); err != nil {
		return "", err
	}
	if tok == "" {
		return "", fault.Errorf(fault.Transient, "iCloud gave no sync token for %s: the next run lists everything again", z.name)
	}
	return tok, nil
}

// indexingToken checks the library is indexed and returns the sync token
// the answer carries (getCurrentSyncToken=true), or "".
func (s *Source) indexingToken(ctx context.Context, z zone) (string, error) {
	var resp queryResponse
	body := map[string]any{"query": map[string]any{"recordType": "CheckIndexingState"}, "zoneID": map[string]any{"zoneName": z.name}}
	if err := s.ck.post(ctx, z.db, "records/query", true, body, &resp); err != nil {
		return "", err
	}
	if len(resp.Records) > 0 {
		if st := resp.Records[0].str("state"); st != "" && st != "FINISHED" {
			return "", fault.Errorf(fault.Transient, "iCloud has not finished indexing the library %s (%s): try again later", z.name, st)
		}
	}
	return resp.SyncToken, nil
}

func (s *Source) databaseToken(ctx context.Context, z zone) (string, error) {
	var resp struct {
		Zones []struct {
			ZoneID struct {
				ZoneName string `json:"zoneName"`
			} `json:"zoneID"`
			SyncToken string `json:"syncToken"`
		} `json:"zones"`
	}
	if err := s.ck.post(ctx, z.db, "changes/database", true, map[string]any{}, &resp); err != nil {
		return "", err
	}
	for _, zz := range resp.Zones {
		if zz.ZoneID.ZoneName == z.name {
			return zz.SyncToken, nil
		}
	}
	return "", nil
}

// changesResponse is a changes/zone answer.
type changesResponse struct {
	Zones []struct {
		SyncToken  string     `json:"syncToken"`
		MoreComing bool       `json:"moreComing"`
		Records    []ckRecord `json:"records"`
	} `json:"zones"`
}

// changeLister walks one zone's changes.
type changeLister struct {
	src      *Source
	z        zone
	rules    itemRules
	sink     source.Sink
	location string
	emitted  bool                 // something reached the sink: no falling back now
	masters  map[string]*ckRecord // masters seen in this listing
	seen     map[string]bool      // assets already listed
}

// run pages from tok until the zone is caught up and returns the token to
// keep. A token refused on the first page, or a lookup refused before
// anything was listed, is errFallBack.
func (cl *changeLister) run(ctx context.Context, tok string) (string, error) {
	cl.masters, cl.seen = map[string]*ckRecord{}, map[string]bool{}
	for page := 0; page < maxChangePages; page++ {
		body := map[string]any{"zones": []any{map[string]any{
			"zoneID": map[string]any{"zoneName": cl.z.name}, "syncToken": tok, "resultsLimit": 200, "desiredKeys": desiredKeys,
		}}}
		var resp changesResponse
		if err := cl.src.ck.post(ctx, cl.z.db, "changes/zone", true, body, &resp); err != nil {
			if refused(err) && page == 0 {
				return "", fmt.Errorf("%w: iCloud refused the saved sync token (%v)", errFallBack, err)
			}
			return "", err
		}
		if len(resp.Zones) == 0 {
			return "", fault.Errorf(fault.Transient, "changes/zone: no zone in the answer")
		}
		zr := resp.Zones[0]
		if err := cl.page(ctx, zr.Records); err != nil {
			if refused(err) && !cl.emitted {
				return "", fmt.Errorf("%w: %v", errFallBack, err)
			}
			return "", err
		}
		if zr.SyncToken != "" {
			tok = zr.SyncToken
		}
		if !zr.MoreComing {
			return tok, nil
		}
	}
	return "", fault.Errorf(fault.Transient, "changes/zone: still more coming after %d pages", maxChangePages)
}

// refused says whether err is the service turning down a sync token:
// BAD_REQUEST for a garbage or truncated one (kei); what an expired one
// gets is not known, so the CloudKit names for it count too.
func refused(err error) bool {
	switch c := fault.ClassOf(err); c {
	case fault.Auth, fault.Canceled, fault.RateLimited:
		return false
	}
	switch codeOf(err) {
	case "BAD_REQUEST", "CHANGE_TOKEN_EXPIRED", "ZONE_CHANGE_TOKEN_EXPIRED", "INVALID_ARGUMENTS", "SYNC_TOKEN_EXPIRED":
		return true
	}
	return statusOf(err) == 400 || statusOf(err) == 410
}

// page emits one page of changes: changed assets as items, trashed,
// hidden and purged ones as gone records. Masters the page lacks are
// looked up together.
func (cl *changeLister) page(ctx context.Context, recs []ckRecord) error {
	var assets []*ckRecord
	for i := range recs {
		r := &recs[i]
		switch {
		case r.ServerErrorCode != "":
			continue
		case r.Deleted:
			// Purged for good. The name may be an asset's, a master's, or
			// an album membership's (ASSET-IN-ALBUM): only the first
			// matches an item, but the type is gone with the record.
			if !strings.Contains(r.RecordName, "-IN-") {
				if err := cl.gone(r.RecordName, "purged"); err != nil {
					return err
				}
			}
		case r.RecordType == "CPLMaster":
			if len(cl.masters) > 50_000 {
				clear(cl.masters) // bound memory; a miss costs a lookup
			}
			cl.masters[r.RecordName] = r
		case r.RecordType == "CPLAsset":
			assets = append(assets, r)
		}
	}
	var missing []string
	for _, a := range assets {
		if a.int("isDeleted") == 0 && a.int("isHidden") == 0 && cl.masters[a.ref("masterRef")] == nil && a.ref("masterRef") != "" {
			missing = append(missing, a.ref("masterRef"))
		}
	}
	if len(missing) > 0 {
		found, err := cl.src.lookupRecords(ctx, cl.z, missing)
		if err != nil {
			return err
		}
		for _, m := range found {
			cl.masters[m.RecordName] = m
		}
	}
	for _, a := range assets {
		if err := cl.asset(a); err != nil {
			return err
		}
	}
	return nil
}

// asset emits one changed asset.
func (cl *changeLister) asset(a *ckRecord) error {
	switch {
	case a.int("isDeleted") == 1:
		return cl.gone(a.RecordName, "trashed")
	case a.int("isHidden") == 1:
		return cl.gone(a.RecordName, "hidden")
	case cl.seen[a.RecordName]:
		return nil
	}
	m := cl.masters[a.ref("masterRef")]
	if m == nil {
		err := fault.Errorf(fault.NotFound, "iCloud lists a change of asset %s but not its master %s", a.RecordName, a.ref("masterRef"))
		return cl.sink.Failure(&record.Record{Type: record.TypeFailure, Source: cl.location, ID: a.RecordName, Path: a.RecordName}, err)
	}
	cl.seen[a.RecordName] = true
	for _, it := range cl.rules.items(pair{asset: a, master: m, rank: -1}, cl.z, cl.location) {
		delete(it.Meta, "rank") // a change has no position; Open looks the asset up by name
		cl.emitted = true
		if err := cl.sink.Item(it); err != nil {
			return err
		}
	}
	return nil
}

// gone emits a record for an asset the library no longer shows. Its id
// is the asset's record name: the id of the asset's original, and the
// part before "~" of its other variants' ids.
func (cl *changeLister) gone(name, reason string) error {
	cl.emitted = true
	delete(cl.seen, name)
	return cl.sink.Item(&record.Record{Type: record.TypeGone, Source: cl.location, ID: name,
		Meta: map[string]any{"reason": reason, "zone": cl.z.name, "database": cl.z.db}})
}

// lookupRecords fetches records by name with records/lookup (CloudKit Web
// Services; that the Photos container serves it is a GUESS), 200 a call.
// Records the service says are missing are left out.
func (s *Source) lookupRecords(ctx context.Context, z zone, names []string) ([]*ckRecord, error) {
	var out []*ckRecord
	for len(names) > 0 {
		n := min(len(names), 200)
		var want []any
		for _, name := range names[:n] {
			want = append(want, map[string]any{"recordName": name})
		}
		names = names[n:]
		var resp queryResponse
		body := map[string]any{"records": want, "zoneID": map[string]any{"zoneName": z.name}, "desiredKeys": desiredKeys}
		if err := s.ck.post(ctx, z.db, "records/lookup", true, body, &resp); err != nil {
			return nil, err
		}
		for i := range resp.Records {
			if r := &resp.Records[i]; r.ServerErrorCode == "" && !r.Deleted {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// lookupURL finds the download URL of an item listed without a position
// (a change listing): its asset and master are looked up by name.
func (s *Source) lookupURL(ctx context.Context, z zone, item *record.Record) (string, error) {
	assetName, _ := splitID(item.ID)
	if a, ok := item.Meta["asset"].(string); ok && a != "" {
		assetName = a
	}
	masterName, _ := item.Meta["master"].(string)
	names := []string{assetName}
	if masterName != "" {
		names = append(names, masterName)
	}
	recs, err := s.lookupRecords(ctx, z, names)
	if err != nil {
		return "", err
	}
	var p pair
	for _, r := range recs {
		switch r.RecordType {
		case "CPLAsset":
			p.asset = r
		case "CPLMaster":
			p.master = r
		}
	}
	if p.asset != nil && p.master == nil && p.asset.ref("masterRef") != "" {
		if ms, err := s.lookupRecords(ctx, z, []string{p.asset.ref("masterRef")}); err == nil && len(ms) > 0 {
			p.master = ms[0]
		}
	}
	if p.asset == nil || p.master == nil || p.asset.int("isDeleted") == 1 {
		return "", fault.Errorf(fault.NotFound, "%s (%s) is no longer in the iCloud library", item.BaseName(), item.ID)
	}
	for _, it := range allItems.items(p, z, item.Source) {
		if it.ID == item.ID {
			if u := resourceURL(p, it); u != "" {
				return u, nil
			}
		}
	}
	return "", fault.Errorf(fault.NotFound, "%s (%s): iCloud no longer has this variant", item.BaseName(), item.ID)
}
