// Package state keeps sessions and saved credentials under the user's state
// folder ($XDG_STATE_HOME/ps, else ~/.local/state/ps). Every file it writes
// is mode 0600 in a 0700 folder, written atomically, because sessions and
// credentials are secrets.
package state

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ps-photos/ps/internal/record"
)

// Dir returns the state folder, honouring PS_STATE_DIR (tests, portable
// installs) and XDG_STATE_HOME.
func Dir() string {
	if d := os.Getenv("PS_STATE_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "ps")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ps-state")
	}
	return filepath.Join(home, ".local", "state", "ps")
}

// Store is a state folder.
type Store struct{ Dir string }

// keyFor turns a source location into a safe file name.
func keyFor(source string) string {
	sum := sha256.Sum256([]byte(source))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, source)
	if len(clean) > 60 {
		clean = clean[:60]
	}
	return clean + "-" + hex.EncodeToString(sum[:6])
}

// WriteSecret writes data atomically with mode 0600.
func WriteSecret(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// SaveSession stores a session record for its source and marks it the
// latest, so "ps-list" with no argument uses it.
func (s Store) SaveSession(rec *record.Record) error {
	if rec.Type != record.TypeSession || rec.Source == "" {
		return errors.New("not a session record")
	}
	b, err := rec.MarshalJSON()
	if err != nil {
		return err
	}
	if err := WriteSecret(s.sessionPath(rec.Source), append(b, '\n')); err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	return WriteSecret(filepath.Join(s.Dir, "latest"), []byte(rec.Source+"\n"))
}

func (s Store) sessionPath(source string) string {
	return filepath.Join(s.Dir, "sessions", keyFor(source)+".json")
}

// Session loads the saved session of a source. A missing session is
// fs.ErrNotExist.
func (s Store) Session(source string) (*record.Record, error) {
	b, err := os.ReadFile(s.sessionPath(source))
	if err != nil {
		return nil, err
	}
	return record.Parse([]byte(strings.TrimSpace(string(b))))
}

// Sessions returns every saved session (unreadable files are skipped).
func (s Store) Sessions() ([]*record.Record, error) {
	files, err := filepath.Glob(filepath.Join(s.Dir, "sessions", "*.json"))
	if err != nil {
		return nil, err
	}
	var out []*record.Record
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if rec, err := record.Parse([]byte(strings.TrimSpace(string(b)))); err == nil {
			out = append(out, rec)
		}
	}
	return out, nil
}

// Latest returns the most recently saved session.
func (s Store) Latest() (*record.Record, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, "latest"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no saved session: run ps-auth first, or give ps-list a location")
	}
	if err != nil {
		return nil, err
	}
	return s.Session(strings.TrimSpace(string(b)))
}

// SaveSecretJSON stores source-specific credentials (a remembered
// password, SMB credentials, OAuth tokens) under name for source.
func (s Store) SaveSecretJSON(source, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return WriteSecret(s.secretPath(source, name), b)
}

// LoadSecretJSON reads what SaveSecretJSON stored; fs.ErrNotExist if none.
func (s Store) LoadSecretJSON(source, name string, v any) error {
	b, err := os.ReadFile(s.secretPath(source, name))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func (s Store) secretPath(source, name string) string {
	return filepath.Join(s.Dir, "secrets", keyFor(source)+"."+name+".json")
}
