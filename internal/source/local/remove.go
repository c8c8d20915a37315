package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

// Remove deletes an item's file from the folder, if it is still the file
// that was listed (see source.Remover). A symlink is never followed: the
// link itself would be what the listing saw only with --follow-links, and
// deleting a link target outside the root is never what the user meant.
func (s *Source) Remove(ctx context.Context, item *record.Record) error {
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	rel := item.ID
	if rel == "" {
		rel = item.Path
	}
	if !filepath.IsLocal(filepath.FromSlash(rel)) || strings.ContainsRune(rel, 0) {
		return fault.Errorf(fault.Permanent, "item id %q is not a path inside %s", rel, s.root)
	}
	abs := filepath.Join(s.root, filepath.FromSlash(rel))
	st, err := os.Lstat(abs)
	if err != nil {
		return classify(err)
	}
	if !st.Mode().IsRegular() {
		return fault.Errorf(fault.Permanent, "not removed: %s is not a regular file", rel)
	}
	if err := source.SameVersion(item, st.Size(), st.ModTime()); err != nil {
		return err
	}
	return classify(os.Remove(abs))
}

var _ source.Remover = (*Source)(nil)
