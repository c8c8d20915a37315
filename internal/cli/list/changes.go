package list

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/state"
)

// changeFile is what --changes-since STATEFILE holds: the source's own
// state (an iCloud sync token, …) and what the listing was, so a state is
// never used for another location or other listing options.
type changeFile struct {
	Source  string          `json:"source"`
	Options string          `json:"options"`
	Saved   time.Time       `json:"saved"`
	State   json.RawMessage `json:"state"`
}

// changeRun is one ps-list run with --changes-since.
type changeRun struct {
	path        string
	lister      source.ChangeLister
	opts        source.ListOptions
	prev        *changeFile
	next        changeFile
	incremental bool
}

// startChanges reads STATEFILE (a missing one is a first run).
func startChanges(path string, src source.Source, opts source.ListOptions, log *slog.Logger) (*changeRun, error) {
	cl, ok := src.(source.ChangeLister)
	if !ok {
		return nil, fmt.Errorf("--changes-since: %s cannot list changes (sources that can: icloud:, local folders)", src.Location())
	}
	run := &changeRun{path: path, lister: cl, opts: opts,
		next: changeFile{Source: src.Location(), Options: optionsKey(opts)}}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		log.Info("no change state yet: listing everything", "file", path)
		return run, nil
	case err != nil:
		return nil, fmt.Errorf("--changes-since: %w", err)
	}
	var prev changeFile
	if err := json.Unmarshal(b, &prev); err != nil {
		return nil, fmt.Errorf("--changes-since %s: not a ps change state: %v", path, err)
	}
	switch {
	case prev.Source != run.next.Source:
		return nil, fmt.Errorf("--changes-since %s: this state is for %s, not %s (use one file per location)", path, prev.Source, run.next.Source)
	case prev.Options != run.next.Options:
		log.Warn("the listing options changed since the state was saved: listing everything", "was", prev.Options, "now", run.next.Options)
	default:
		run.prev = &prev
	}
	return run, nil
}

// list runs the source's change listing.
func (r *changeRun) list(ctx context.Context, sink source.Sink) error {
	var since []byte
	if r.prev != nil {
		since = r.prev.State
	}
	next, incremental, err := r.lister.ListChanges(ctx, r.opts, since, sink)
	r.next.State, r.incremental = next, incremental
	return err
}

// mark notes on the end record that the listing holds changes only. Such a
// listing is never complete: it does not hold the whole source, and
// ps-fetch --mirror must not delete what it leaves out.
func (r *changeRun) mark(end *record.Record) {
	if !r.incremental {
		return
	}
	f := false
	end.Complete = &f
	end.Meta = map[string]any{"changes": true, "since": record.FormatTime(r.prev.Saved)}
}

// save writes the new state, mode 0600, atomically.
func (r *changeRun) save() error {
	if len(r.next.State) == 0 {
		return nil
	}
	r.next.Saved = time.Now().UTC()
	b, err := json.MarshalIndent(r.next, "", "  ")
	if err != nil {
		return err
	}
	if err := state.WriteSecret(r.path, append(b, '\n')); err != nil {
		return fmt.Errorf("--changes-since: save the state: %w", err)
	}
	return nil
}

// optionsKey sums up the options that decide which items a listing gives:
// a state saved under other ones would miss items they now include.
func optionsKey(o source.ListOptions) string {
	b, _ := json.Marshal(map[string]any{
		"folder": o.Folder, "hash": o.Hash, "since": record.FormatTime(o.Since), "until": record.FormatTime(o.Until),
		"source": o.Flags, // the source's own flags (--size, --library, --live-photos, …)
	})
	return string(b)
}
