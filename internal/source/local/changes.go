package local

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ps-photos/ps/internal/source"
)

// Change listings of a folder (ps-list --changes-since): the state is when
// the last listing started, and a change listing walks the tree as List
// does but lists only files changed (modified, or created: the
// status-change time) since then. Deleted files are not reported: a
// folder keeps no record of what it held (use a full listing with
// ps-fetch --mirror for that).

// changeState is what a folder listing leaves for the next one.
type changeState struct {
	Since time.Time `json:"since"`
}

// slack covers file systems whose times are coarse (FAT: 2 s) and a
// clock that moved a little between runs.
var slack = 2 * time.Second

// ListChanges implements source.ChangeLister.
func (s *Source) ListChanges(ctx context.Context, opts source.ListOptions, since []byte, sink source.Sink) ([]byte, bool, error) {
	start := time.Now()
	var prev changeState
	if len(since) > 0 {
		json.Unmarshal(since, &prev) // an unreadable state lists everything
	}
	var cutoff time.Time
	if !prev.Since.IsZero() {
		cutoff = prev.Since.Add(-slack)
	}
	if err := s.list(ctx, opts, sink, cutoff); err != nil {
		return nil, false, err
	}
	next, _ := json.Marshal(changeState{Since: start.UTC()})
	return next, !prev.Since.IsZero(), nil
}
