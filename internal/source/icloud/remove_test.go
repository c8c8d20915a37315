package icloud_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/icloud"
	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
)

// TestRemoveMovesToRecentlyDeleted removes originals through records/modify:
// they leave the library's listing and appear in Recently Deleted; a
// variant is refused; a second removal is not_found; a stale change tag
// (409 CONFLICT) is read again once.
func TestRemoveMovesToRecentlyDeleted(t *testing.T) {
	fake := startFake(t, icloudtest.Options{}, library(300, 0)...)
	dir := signedIn(t, fake)
	items := list(t, open(t, dir, "icloud:"), source.ListOptions{Jobs: 4, Flags: &icloud.ListFlags{Size: []string{"original", "medium"}}}).Items
	var originals []*record.Record
	var variant *record.Record
	for _, it := range items {
		switch v := it.Meta["variant"]; {
		case v == "original" && it.Meta["rank"].(int) > 150 && len(originals) < 2:
			originals = append(originals, it)
		case v == "medium" && variant == nil && it.Meta["rank"].(int) <= 150:
			// Not one of the originals removed below (items arrive in
			// no fixed order with -j4): its asset must stay.
			variant = it
		}
	}
	if len(originals) < 2 || variant == nil {
		t.Fatalf("the generated library lacks originals past rank 150 or a medium variant")
	}
	src := open(t, dir, "icloud:")
	ctx := context.Background()
	if err := src.Remove(ctx, originals[0]); err != nil {
		t.Fatalf("remove %s: %v", originals[0].ID, err)
	}
	fake.Inject(icloudtest.Fault{Path: "records/modify", Status: http.StatusConflict, Code: "CONFLICT", Text: "oplock error"})
	if err := src.Remove(ctx, originals[1]); err != nil {
		t.Fatalf("remove after a 409 CONFLICT: %v", err)
	}
	if fake.Stats().Throttled != 1 {
		t.Errorf("the injected 409 was not answered")
	}
	err := src.Remove(ctx, variant)
	if fault.ClassOf(err) != fault.Permanent {
		t.Errorf("removing a variant: %v, want a permanent refusal", err)
	}
	if err := src.Remove(ctx, originals[0]); fault.ClassOf(err) != fault.NotFound {
		t.Errorf("removing it again: %v, want not_found", err)
	}

	after := byID(list(t, open(t, dir, "icloud:"), source.ListOptions{Jobs: 4}).Items)
	deleted := byID(list(t, open(t, dir, "icloud:recently-deleted"), source.ListOptions{Jobs: 4}).Items)
	for _, it := range originals {
		if after[it.ID] != nil {
			t.Errorf("%s is still in the library after its removal", it.ID)
		}
		if deleted[it.ID] == nil {
			t.Errorf("%s is not in Recently Deleted", it.ID)
		}
	}
	asset, _, _ := cutVariant(variant.ID)
	if after[asset] == nil {
		t.Errorf("the asset of the refused variant %s was removed", variant.ID)
	}
}

// TestRemoveRefusesAChangedAsset does not remove an asset whose original
// has another size than the record says.
func TestRemoveRefusesAChangedAsset(t *testing.T) {
	fake := startFake(t, icloudtest.Options{}, library(50, 0)...)
	dir := signedIn(t, fake)
	items := list(t, open(t, dir, "icloud:"), source.ListOptions{Jobs: 2}).Items
	it := items[0].Clone()
	it.Size++
	err := open(t, dir, "icloud:").Remove(context.Background(), it)
	if fault.ClassOf(err) != fault.Permanent {
		t.Fatalf("remove with a changed size: %v, want permanent", err)
	}
	if byID(list(t, open(t, dir, "icloud:"), source.ListOptions{Jobs: 2}).Items)[it.ID] == nil {
		t.Errorf("%s was removed although its size changed", it.ID)
	}
}

func cutVariant(id string) (asset, variant string, ok bool) {
	for i := range id {
		if id[i] == '~' {
			return id[:i], id[i+1:], true
		}
	}
	return id, "", false
}
