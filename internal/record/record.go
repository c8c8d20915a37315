// Package record owns the JSON-lines wire format that every ps tool reads and
// writes. Nothing else in ps defines JSON shapes for the stream; the user
// documentation of this contract is docs/records.md and must stay in step.
//
// Rules of the contract:
//
//   - One JSON object per line, UTF-8, terminated by "\n". Lines of many MiB
//     are fine (MaxLine).
//   - Records grow as they flow: a tool adds fields and never drops a field
//     it does not know. Unknown top-level fields are kept in Extra, in input
//     order, and written back after the known ones.
//   - Times are RFC 3339 in UTC; sizes are int64 bytes; hashes are an object
//     keyed by algorithm; source-specific extras live under meta.
//   - A failure record is valid input to ps-fetch as it stands: tools that
//     take items ignore the type of item, result and failure records.
package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Record types, the value of the "type" field.
const (
	TypeItem    = "item"    // ps-list: one file a source holds
	TypeResult  = "result"  // ps-fetch: an item now on disk (downloaded or skipped)
	TypeFailure = "failure" // any tool: an item (or folder) it gave up on
	TypeSession = "session" // ps-auth: a signed-in session
	TypeEnd     = "end"     // ps-list: the listing finished (complete or not)
	TypeDeleted = "deleted" // ps-fetch --mirror: a local file removed
	TypeRemoved = "removed" // ps-remove: an item deleted from its source
	TypeCheck   = "check"   // ps-check: how an archived file compares with what was fetched
	TypeAlbum   = "album"   // ps-list --list-albums: an album, listable by its source
	TypeLibrary = "library" // ps-list --list-libraries: a library, listable by its source
	TypeGone    = "gone"    // ps-list --changes-since: an item the source no longer shows
	TypeCycle   = "cycle"   // ps-watch: one run of the watched command
)

// Meta keys the tools themselves read (all other meta keys are the
// sources' own).
const (
	// MetaFolder is true on a failure record about a folder, page or
	// range of a listing rather than a file (see FolderFailure).
	MetaFolder = "folder"
	// MetaParentFolder is, on an album record, the name of the folder
	// that holds the album.
	MetaParentFolder = "parent_folder"
)

// Media kinds, the value of the "media" field.
const (
	MediaRaw     = "raw"
	MediaPhoto   = "photo"
	MediaVideo   = "video"
	MediaSidecar = "sidecar"
	MediaOther   = "other"
)

// Result statuses, the value of the "status" field.
const (
	StatusDownloaded = "downloaded"
	StatusSkipped    = "skipped"
	StatusPlanned    = "planned" // ps-fetch --dry-run: would be downloaded; ps-remove without --yes: would be removed
	StatusRemoved    = "removed" // ps-remove: deleted from the source
)

// ErrorInfo is the "error" object of a failure record.
type ErrorInfo struct {
	Class    string `json:"class"`
	Message  string `json:"message"`
	Attempts int    `json:"attempts"`
	// Hint is the command that fixes the problem, when one is known
	// (for auth failures: the ps-auth command to run).
	Hint string `json:"hint,omitempty"`
}

// Field is one unknown top-level field, kept verbatim.
type Field struct {
	Key   string
	Value json.RawMessage
}

// Record is any line of the stream. Which fields are set depends on Type;
// docs/records.md lists them per type.
type Record struct {
	Type   string
	Source string // where it came from, never with secrets
	ID     string // stable, source-scoped
	Path   string // slash-separated, relative to the listed root
	Name   string
	Size   int64
	Mtime  time.Time
	Taken  time.Time // zero when unknown
	Media  string
	Hash   map[string]string
	Meta   map[string]any
	URL    string // an http(s) URL the bytes can be fetched from

	// ps-fetch
	Local  string
	Status string
	Error  *ErrorInfo

	// end records
	Complete *bool
	Count    *int64
	// Excluded is how many items a filter (ps-filter) left out of the
	// stream before this end record: the listing is no longer whole.
	Excluded *int64

	// session records: Session holds the source-specific session state
	// (it may hold tokens: session records go to ps-list, not to logs).
	Created time.Time
	Expires time.Time
	Session map[string]any

	// Extra holds fields this version does not know, in input order.
	Extra []Field
}

// wire is the on-the-wire order of known fields.
type wire struct {
	Type     string            `json:"type"`
	Source   string            `json:"source,omitempty"`
	ID       string            `json:"id,omitempty"`
	Path     string            `json:"path,omitempty"`
	Name     string            `json:"name,omitempty"`
	Size     *int64            `json:"size,omitempty"`
	Mtime    string            `json:"mtime,omitempty"`
	Taken    string            `json:"taken,omitempty"`
	Media    string            `json:"media,omitempty"`
	Hash     map[string]string `json:"hash,omitempty"`
	Meta     map[string]any    `json:"meta,omitempty"`
	URL      string            `json:"url,omitempty"`
	Local    string            `json:"local,omitempty"`
	Status   string            `json:"status,omitempty"`
	Error    *ErrorInfo        `json:"error,omitempty"`
	Complete *bool             `json:"complete,omitempty"`
	Count    *int64            `json:"count,omitempty"`
	Excluded *int64            `json:"excluded,omitempty"`
	Created  string            `json:"created,omitempty"`
	Expires  string            `json:"expires,omitempty"`
	Session  map[string]any    `json:"session,omitempty"`
}

var knownKeys = map[string]bool{
	"type": true, "source": true, "id": true, "path": true, "name": true, "size": true,
	"mtime": true, "taken": true, "media": true, "hash": true, "meta": true, "url": true,
	"local": true, "status": true, "error": true, "complete": true, "count": true, "excluded": true,
	"created": true, "expires": true, "session": true,
}

// IsFileRecord reports whether r describes one file: an item, result or
// failure about an item. ps-fetch and ps-xmp take all three as input.
func (r *Record) IsFileRecord() bool {
	switch r.Type {
	case TypeItem, TypeResult, TypeFailure:
		return r.ID != "" || r.Path != "" || r.URL != ""
	}
	return false
}

// FormatTime renders t as the contract wants it: RFC 3339, UTC, with
// fractional seconds only when there are some.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// ParseTime accepts RFC 3339 with or without fractional seconds.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// MarshalJSON writes the known fields in contract order, then the unknown
// ones in the order they arrived.
func (r *Record) MarshalJSON() ([]byte, error) {
	w := wire{
		Type: r.Type, Source: r.Source, ID: r.ID, Path: r.Path, Name: r.Name,
		Mtime: FormatTime(r.Mtime), Taken: FormatTime(r.Taken), Media: r.Media,
		Hash: r.Hash, Meta: r.Meta, URL: r.URL, Local: r.Local, Status: r.Status,
		Error: r.Error, Complete: r.Complete, Count: r.Count, Excluded: r.Excluded,
		Created: FormatTime(r.Created), Expires: FormatTime(r.Expires), Session: r.Session,
	}
	switch r.Type {
	case TypeItem, TypeResult, TypeFailure, TypeDeleted, TypeRemoved, TypeCheck:
		// Every file has a size, zero included; folder failures and bare
		// url records without one have none.
		if r.ID != "" || r.Size != 0 {
			size := r.Size
			w.Size = &size
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&w); err != nil {
		return nil, err
	}
	out := bytes.TrimRight(buf.Bytes(), "\n")
	if len(r.Extra) == 0 {
		return out, nil
	}
	out = out[:len(out)-1] // drop '}'
	for _, f := range r.Extra {
		if knownKeys[f.Key] {
			continue
		}
		key, _ := json.Marshal(f.Key)
		out = append(out, ',')
		out = append(out, key...)
		out = append(out, ':')
		out = append(out, f.Value...)
	}
	return append(out, '}'), nil
}

// UnmarshalJSON reads any record, keeping unknown fields in Extra. The
// line is validated and split by the same scanner ps-filter uses; only
// nested objects (hash, meta, session, error) go through encoding/json.
func (r *Record) UnmarshalJSON(data []byte) error {
	*r = Record{}
	return eachField(data, func(rawKey, val []byte) error {
		if err := checkField(rawKey, val); err != nil {
			return fieldError(rawKey, err)
		}
		key := string(rawKey)
		if bytes.IndexByte(rawKey, '\\') >= 0 {
			key, _ = RawString(append(append([]byte{'"'}, rawKey...), '"'))
		}
		if err := r.setField(key, val); err != nil {
			return fmt.Errorf("field %q: %w", key, err)
		}
		return nil
	})
}

func (r *Record) setField(key string, raw json.RawMessage) error {
	if string(raw) == "null" && key != "meta" {
		if !knownKeys[key] {
			r.Extra = append(r.Extra, Field{Key: key, Value: raw})
		}
		return nil
	}
	var err error
	switch key {
	case "type":
		r.Type, err = str(raw)
	case "source":
		r.Source, err = str(raw)
	case "id":
		err = unmarshalID(raw, &r.ID)
	case "path":
		r.Path, err = str(raw)
	case "name":
		r.Name, err = str(raw)
	case "size":
		r.Size, err = RawInt(raw)
	case "mtime":
		r.Mtime, err = unmarshalTime(raw)
	case "taken":
		r.Taken, err = unmarshalTime(raw)
	case "created":
		r.Created, err = unmarshalTime(raw)
	case "expires":
		r.Expires, err = unmarshalTime(raw)
	case "media":
		r.Media, err = str(raw)
	case "hash":
		err = json.Unmarshal(raw, &r.Hash)
	case "meta":
		r.Meta, err = unmarshalObject(raw)
	case "session":
		r.Session, err = unmarshalObject(raw)
	case "url":
		r.URL, err = str(raw)
	case "local":
		r.Local, err = str(raw)
	case "status":
		r.Status, err = str(raw)
	case "error":
		r.Error = new(ErrorInfo)
		err = json.Unmarshal(raw, r.Error)
	case "complete":
		r.Complete = new(bool)
		err = json.Unmarshal(raw, r.Complete)
	case "count":
		r.Count = new(int64)
		err = json.Unmarshal(raw, r.Count)
	case "excluded":
		r.Excluded = new(int64)
		*r.Excluded, err = RawInt(raw)
	default:
		r.Extra = append(r.Extra, Field{Key: key, Value: append(json.RawMessage(nil), raw...)})
	}
	return err
}

// str decodes a raw JSON string value.
func str(raw []byte) (string, error) {
	s, ok := RawString(raw)
	if !ok {
		return "", errors.New("want a string")
	}
	return s, nil
}

// unmarshalID accepts a string or, for jq-made input, a number.
func unmarshalID(raw json.RawMessage, dst *string) error {
	if len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		*dst = string(raw)
		return nil
	}
	s, err := str(raw)
	*dst = s
	return err
}

func unmarshalTime(raw json.RawMessage) (time.Time, error) {
	s, ok := RawString(raw)
	if !ok {
		return time.Time{}, fmt.Errorf("want an RFC 3339 string")
	}
	if s == "" {
		return time.Time{}, nil
	}
	t, err := ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want RFC 3339 time, got %q", s)
	}
	return t, nil
}

func unmarshalObject(raw json.RawMessage) (map[string]any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("want an object")
	}
	return m, nil
}

// Get returns the unknown field key, if the record carries it.
func (r *Record) Get(key string) (json.RawMessage, bool) {
	for _, f := range r.Extra {
		if f.Key == key {
			return f.Value, true
		}
	}
	return nil, false
}

// Set adds or replaces an extra top-level field (ps-xmp's "xmp", say).
// Known contract fields must be set through the struct, not here.
func (r *Record) Set(key string, value any) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return err
	}
	for i, f := range r.Extra {
		if f.Key == key {
			r.Extra[i].Value = raw
			return nil
		}
	}
	r.Extra = append(r.Extra, Field{Key: key, Value: raw})
	return nil
}

// Clone returns a copy whose maps and slices can be changed independently.
func (r *Record) Clone() *Record {
	c := *r
	if r.Hash != nil {
		c.Hash = make(map[string]string, len(r.Hash))
		for k, v := range r.Hash {
			c.Hash[k] = v
		}
	}
	c.Extra = append([]Field(nil), r.Extra...)
	if r.Error != nil {
		e := *r.Error
		c.Error = &e
	}
	return &c
}

// BaseName is the record's file name: name, else the last element of path.
func (r *Record) BaseName() string {
	if r.Name != "" {
		return r.Name
	}
	if r.Path != "" {
		return path.Base(r.Path)
	}
	return ""
}

// Ext returns the upper-cased extension without the dot ("CR3"), or "".
func Ext(name string) string {
	ext := path.Ext(name)
	if len(ext) <= 1 {
		return ""
	}
	return strings.ToUpper(ext[1:])
}

// NewAlbum makes an album record: source is the location that lists the
// album's items, count the number of items when known (nil otherwise).
func NewAlbum(source, id, name string, count *int64) *Record {
	return &Record{Type: TypeAlbum, Source: source, ID: id, Name: name, Count: count}
}

// NewLibrary makes a library record: source is the location that lists
// the library's items.
func NewLibrary(source, id, name string) *Record {
	return &Record{Type: TypeLibrary, Source: source, ID: id, Name: name}
}

// FolderFailure makes the record of a part of a listing that could not be
// read: a folder, a page or a range of items at path (a description when
// the part has no path). The caller adds the error through a sink or
// AsFailure; further meta keys may be added to Meta.
func FolderFailure(source, path string) *Record {
	if path == "" {
		path = "."
	}
	return &Record{Type: TypeFailure, Source: source, Path: path, Meta: map[string]any{MetaFolder: true}}
}

// IsFolderFailure reports whether r is a failure about a part of a
// listing (FolderFailure), not about a file: ps-fetch passes it through.
func (r *Record) IsFolderFailure() bool {
	folder, _ := r.Meta[MetaFolder].(bool)
	return r.Type == TypeFailure && folder
}

// NewEnd makes the end record ps-list writes when a listing finishes.
func NewEnd(source string, complete bool, count int64) *Record {
	return &Record{Type: TypeEnd, Source: source, Complete: &complete, Count: &count}
}

// AsFailure turns r (an item, result or earlier failure) into a failure
// record, keeping every field so the line can be fed to ps-fetch again.
func (r *Record) AsFailure(class, message string, attempts int, hint string) *Record {
	f := r.Clone()
	f.Type = TypeFailure
	f.Status = ""
	f.Local = ""
	f.Error = &ErrorInfo{Class: class, Message: message, Attempts: attempts, Hint: hint}
	return f
}
