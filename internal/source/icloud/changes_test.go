package icloud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/icloud"
	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

// changes runs one incremental listing and splits what it gave.
type changeResult struct {
	items, gone map[string]*record.Record
	failures    []*record.Record
	state       []byte
	incremental bool
}

func listChanges(t *testing.T, src *icloud.Source, since []byte) changeResult {
	t.Helper()
	sink := &sourcetest.Sink{}
	next, incremental, err := src.ListChanges(context.Background(), source.ListOptions{Jobs: 4}, since, sink)
	if err != nil {
		t.Fatalf("list changes: %v", err)
	}
	r := changeResult{items: map[string]*record.Record{}, gone: map[string]*record.Record{}, failures: sink.Failures, state: next, incremental: incremental}
	for _, it := range sink.Items {
		switch it.Type {
		case record.TypeGone:
			r.gone[it.ID] = it
		default:
			r.items[it.ID] = it
		}
	}
	if len(next) == 0 {
		t.Fatal("no state for the next run")
	}
	return r
}

func visible(z *icloudtest.Zone) int {
	n := 0
	for _, a := range z.Assets {
		if !a.Hidden && !a.Deleted {
			n++
		}
	}
	return n
}

func originals(items map[string]*record.Record) []string {
	var out []string
	for id, it := range items {
		if it.Meta["variant"] == "original" {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func TestChangesSinceLastRun(t *testing.T) {
	zones := library(250, 0)
	fake := startFake(t, icloudtest.Options{}, zones...)
	src := open(t, signedIn(t, fake), "icloud:")
	z := zones[0]

	// First run: no state, so everything, and a token for next time.
	first := listChanges(t, src, nil)
	if first.incremental || len(originals(first.items)) != visible(z) {
		t.Fatalf("first run: incremental %v, %d originals, want a full listing of %d", first.incremental, len(originals(first.items)), visible(z))
	}

	// Nothing changed: nothing listed, in one or two requests.
	before := fake.Stats().Requests
	same := listChanges(t, src, first.state)
	if !same.incremental || len(same.items)+len(same.gone) != 0 {
		t.Fatalf("unchanged library: incremental %v, items %v, gone %v", same.incremental, same.items, same.gone)
	}
	if n := fake.Stats().Requests - before; n > 2 {
		t.Errorf("unchanged library took %d requests", n)
	}

	// A new photo, a favourite, a trashed, a hidden and a purged one.
	added := icloudtest.NewFileAsset("IMG_NEW.JPG", []byte("fresh bytes"), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	fake.AddAsset("PrimarySync", added)
	visibleAssets := []*icloudtest.Asset{}
	for _, a := range z.Assets {
		if !a.Hidden && !a.Deleted && a != added {
			visibleAssets = append(visibleAssets, a)
		}
	}
	fav, trashed, hidden, purged := visibleAssets[3], visibleAssets[10], visibleAssets[20], visibleAssets[30]
	fake.UpdateAsset("PrimarySync", fav.Record, false, func(a *icloudtest.Asset) { a.Favorite = true })
	fake.UpdateAsset("PrimarySync", trashed.Record, true, func(a *icloudtest.Asset) { a.Deleted = true })
	fake.UpdateAsset("PrimarySync", hidden.Record, false, func(a *icloudtest.Asset) { a.Hidden = true })
	fake.PurgeAsset("PrimarySync", purged.Record)

	lookups := fake.Stats().Lookups
	got := listChanges(t, src, same.state)
	if !got.incremental {
		t.Fatal("third run was not incremental")
	}
	if want := []string{added.Record, fav.Record}; !slices.Equal(originals(got.items), sorted(want)) {
		t.Errorf("changed items %v, want %v", originals(got.items), sorted(want))
	}
	if it := got.items[fav.Record]; it == nil || it.Meta["favorite"] != true || it.Name != fav.Name {
		t.Errorf("favourite item %+v", it)
	}
	if fake.Stats().Lookups == lookups {
		t.Error("the favourite's master (not in the change set) was not looked up")
	}
	for id, reason := range map[string]string{trashed.Record: "trashed", hidden.Record: "hidden", purged.Record: "purged"} {
		g := got.gone[id]
		if g == nil || g.Meta["reason"] != reason || g.Source != "icloud:" {
			t.Errorf("gone record for %s: %+v, want reason %s", id, g, reason)
		}
	}
	if len(got.failures) > 0 {
		t.Errorf("failures: %v", got.failures)
	}

	// An item listed from changes has no position: Open finds it by name.
	newItem := got.items[added.Record]
	if _, ok := newItem.Meta["rank"]; ok {
		t.Errorf("a changed item carries a rank: %v", newItem.Meta)
	}
	c, err := src.Open(context.Background(), newItem, 0)
	if err != nil {
		t.Fatalf("open a changed item: %v", err)
	}
	b, _ := io.ReadAll(c)
	c.Close()
	if !bytes.Equal(b, []byte("fresh bytes")) {
		t.Errorf("changed item's bytes %q", b)
	}

	// Caught up again.
	again := listChanges(t, src, got.state)
	if len(again.items)+len(again.gone) != 0 {
		t.Errorf("after catching up: %d items, %d gone", len(again.items), len(again.gone))
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestChangesTokenRefusedListsEverything(t *testing.T) {
	for _, opts := range []icloudtest.Options{{}, {TokenErrorCode: "CHANGE_TOKEN_EXPIRED", TokenErrorStatus: 410}} {
		zones := library(120, 0)
		fake := startFake(t, opts, zones...)
		src := open(t, signedIn(t, fake), "icloud:")
		first := listChanges(t, src, nil)
		fake.ExpireSyncTokens()
		got := listChanges(t, src, first.state)
		if got.incremental || len(originals(got.items)) != visible(zones[0]) || fake.Stats().TokensRefused != 1 {
			t.Errorf("%+v: expired token gave incremental %v, %d originals (want %d), %d refusals", opts, got.incremental, len(originals(got.items)), visible(zones[0]), fake.Stats().TokensRefused)
		}
		// The fresh token works.
		if again := listChanges(t, src, got.state); !again.incremental || len(again.items) != 0 {
			t.Errorf("after the fallback: incremental %v, %d items", again.incremental, len(again.items))
		}
	}
	// A garbage state is a full listing too.
	fake := startFake(t, icloudtest.Options{}, library(20, 0)...)
	src := open(t, signedIn(t, fake), "icloud:")
	garbage, _ := json.Marshal(map[string]string{"database": "private", "zone": "PrimarySync", "sync_token": "bm90IGEgdG9rZW4="})
	if got := listChanges(t, src, garbage); got.incremental || len(got.items) == 0 {
		t.Errorf("garbage token: incremental %v, %d items", got.incremental, len(got.items))
	}
}

func TestChangesPagesAndTolerance(t *testing.T) {
	zones := library(60, 0)
	// No token on records/query answers (the client asks changes/database),
	// small pages, and empty pages with moreComing before the changes.
	fake := startFake(t, icloudtest.Options{NoQuerySyncToken: true}, zones...)
	src := open(t, signedIn(t, fake), "icloud:")
	first := listChanges(t, src, nil)
	var want []string
	for i := range 7 {
		a := icloudtest.NewFileAsset("NEW_"+string(rune('A'+i))+".JPG", []byte{byte(i), 1, 2}, time.Date(2026, 2, 1, i, 0, 0, 0, time.UTC))
		fake.AddAsset("PrimarySync", a)
		want = append(want, a.Record)
	}
	fake.SetOptions(func(o *icloudtest.Options) { o.PageCap = 4 })
	fake.EmptyChangePages(3)
	calls := fake.Stats().Changes
	got := listChanges(t, src, first.state)
	if !slices.Equal(originals(got.items), sorted(want)) {
		t.Errorf("paged changes %v, want %v", originals(got.items), want)
	}
	if n := fake.Stats().Changes - calls; n < 3+4 {
		t.Errorf("%d changes/zone calls for 3 empty pages and 14 records in pages of 4", n)
	}
}

func TestChangesWithoutLookupListsEverything(t *testing.T) {
	zones := library(40, 0)
	fake := startFake(t, icloudtest.Options{NoLookup: true}, zones...)
	src := open(t, signedIn(t, fake), "icloud:")
	first := listChanges(t, src, nil)
	fake.UpdateAsset("PrimarySync", zones[0].Assets[0].Record, false, func(a *icloudtest.Asset) { a.Favorite = !a.Favorite })
	got := listChanges(t, src, first.state)
	if got.incremental || len(originals(got.items)) != visible(zones[0]) {
		t.Errorf("no records/lookup: incremental %v, %d originals, want a full listing of %d", got.incremental, len(originals(got.items)), visible(zones[0]))
	}
}

func TestChangesRefusedForAlbums(t *testing.T) {
	fake := startFake(t, icloudtest.Options{}, library(10, 0)...)
	src := open(t, signedIn(t, fake), "icloud:album/Holidays")
	_, _, err := src.ListChanges(context.Background(), source.ListOptions{}, nil, &sourcetest.Sink{})
	if err == nil || !source.IsUsage(err) {
		t.Errorf("changes of an album: %v, want a usage error", err)
	}
}
