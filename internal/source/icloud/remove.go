package icloud

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Remove moves an item's asset to Recently Deleted, as iCloud Photos on the
// web does (records/modify setting isDeleted on the CPLAsset): Apple keeps
// it there for about 30 days. Only an original is removed: deleting the
// asset of a variant (medium, live video, the RAW of a pair) would take the
// original with it. The asset's current change tag is read first (Apple
// refuses a stale one with 409 CONFLICT); on a conflict it is read once more.
func (s *Source) Remove(ctx context.Context, item *record.Record) error {
	asset, variant := splitID(item.ID)
	if v, _ := item.Meta["variant"].(string); variant != "original" || (v != "" && v != "original") {
		return fault.Errorf(fault.Permanent, "not removed: %s is a variant of asset %s; remove the original (id %s) to delete the asset", item.BaseName(), asset, asset)
	}
	for attempt := 1; ; attempt++ {
		z, tag, size, err := s.assetTag(ctx, item, asset)
		if err != nil {
			return err
		}
		if size > 0 && item.Size > 0 {
			// iCloud has no file mtime: the size is the version check.
			if err := source.SameVersion(item, size, time.Time{}); err != nil {
				return err
			}
		}
		err = s.markDeleted(ctx, z, asset, tag)
		if statusOf(err) == http.StatusConflict && attempt < 2 {
			continue
		}
		return err
	}
}

// assetTag finds the asset's record (by the item's rank, as Open does) and
// returns its zone, current change tag and its original's size.
func (s *Source) assetTag(ctx context.Context, item *record.Record, asset string) (zone, string, int64, error) {
	rank, ok := metaInt(item.Meta["rank"])
	zname, _ := item.Meta["zone"].(string)
	db, _ := item.Meta["database"].(string)
	if !ok || zname == "" {
		return zone{}, "", 0, fault.Errorf(fault.Permanent, "item %s has no iCloud position (meta.rank, meta.zone): list it again with ps-list", item.ID)
	}
	if db == "" {
		db = "private"
	}
	z := zone{db: db, name: zname}
	q, err := s.cachedQuery(ctx, z)
	if err != nil {
		return z, "", 0, err
	}
	P := s.pageSize
	for _, start := range []int{max(rank-P/2, 0), rank + P/2, max(rank-3*P/2, 0), rank + 3*P/2} {
		var resp queryResponse
		if err := s.ck.post(ctx, z.db, "records/query", true, q.body(z.name, start, 2*P), &resp); err != nil {
			return z, "", 0, err
		}
		for _, p := range pagePairs(&resp, start) {
			if p.asset.RecordName == asset {
				res, _, _ := p.master.resource(variantPrefix["original"][0])
				return z, p.asset.RecordChangeTag, res.Size, nil
			}
		}
	}
	return z, "", 0, fault.Errorf(fault.NotFound, "%s (%s) is no longer in the iCloud library", item.BaseName(), item.ID)
}

// markDeleted sends the records/modify that moves one asset to Recently
// Deleted.
func (s *Source) markDeleted(ctx context.Context, z zone, asset, tag string) error {
	body := map[string]any{
		"atomic":      true,
		"desiredKeys": []string{"isDeleted"},
		"zoneID":      map[string]any{"zoneName": z.name},
		"operations": []any{map[string]any{
			"operationType": "update",
			"record": map[string]any{
				"recordName":      asset,
				"recordType":      "CPLAsset",
				"recordChangeTag": tag,
				"fields":          map[string]any{"isDeleted": map[string]any{"value": 1}},
			},
		}},
	}
	var resp queryResponse
	if err := s.ck.post(ctx, z.db, "records/modify", true, body, &resp); err != nil {
		return err
	}
	for _, r := range resp.Records {
		if r.RecordName == asset && r.ServerErrorCode != "" {
			class := fault.Permanent
			if strings.Contains(r.ServerErrorCode, "NOT_FOUND") {
				class = fault.NotFound
			}
			return fault.Errorf(class, "iCloud refused to delete %s: %s %s", asset, r.ServerErrorCode, r.Reason)
		}
	}
	return nil
}

var _ source.Remover = (*Source)(nil)
