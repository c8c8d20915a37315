package smb

import (
	"context"
	"time"

	"github.com/cloudsoda/go-smb2"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Remove deletes an item's file from the share, if it is still the file
// that was listed (see source.Remover). The check and the delete run on one
// connection, one after the other; a retry after a dropped connection
// checks again, so a file that was already deleted is not_found.
func (s *Source) Remove(ctx context.Context, item *record.Record) error {
	p, err := s.itemPath(item)
	if err != nil {
		return err
	}
	return s.do(ctx, time.Minute, func(share *smb2.Share) error {
		st, err := share.Lstat(sharePath(p))
		if err != nil {
			return err
		}
		if !st.Mode().IsRegular() {
			return fault.Errorf(fault.Permanent, "not removed: %s is not a regular file", p)
		}
		if err := source.SameVersion(item, st.Size(), st.ModTime()); err != nil {
			return err
		}
		return share.Remove(sharePath(p))
	})
}

var _ source.Remover = (*Source)(nil)
