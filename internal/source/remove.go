package source

import (
	"context"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
)

// Remover is a source that can delete items (ps-remove). Remove deletes the
// item the record names only if the source still holds the version that was
// listed: a size (or, where the source keeps one, mtime) that differs from
// the record's is a fault.Permanent error saying what changed, so a file
// replaced since the download is never deleted. A gone item is
// fault.NotFound. Sources with a bin (iCloud's Recently Deleted) move the
// item there, as their own apps do.
type Remover interface {
	Remove(ctx context.Context, item *record.Record) error
}

// SameVersion checks what a source found against the record it was asked
// to remove: same size, and the same mtime to the second when both are
// known (FAT cards and SMB servers round to 1–2 s, so a second is allowed).
func SameVersion(item *record.Record, size int64, mtime time.Time) error {
	if size != item.Size {
		return fault.Errorf(fault.Permanent, "not removed: %s is %d bytes on the source, the record says %d (changed since it was listed)", item.BaseName(), size, item.Size)
	}
	if !item.Mtime.IsZero() && !mtime.IsZero() {
		if d := mtime.Sub(item.Mtime); d > 2*time.Second || d < -2*time.Second {
			return fault.Errorf(fault.Permanent, "not removed: %s was modified on the source at %s, the record says %s (changed since it was listed)", item.BaseName(), record.FormatTime(mtime), record.FormatTime(item.Mtime))
		}
	}
	return nil
}

// Opener finds the source that can open a record: a *Pool, or a fake in
// tests. Tools that act on records of any source take one.
type Opener interface {
	ForRecord(ctx context.Context, rec *record.Record) (Source, string, error)
}
