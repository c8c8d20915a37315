package record

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Fields holds the raw values of the top-level fields ps-filter looks at,
// as slices of the line (strings still quoted). A field that is absent is nil.
type Fields struct {
	Type, Path, Name, Size, Mtime, Taken, Media []byte
}

// ScanFields validates line as one record, with the same rules and the
// same messages as Parse (JSON syntax, UTF-8, the type of every known
// field, a "type"), and picks out the fields in Fields, without
// allocating. It is the fast path of ps-filter, which must not re-marshal
// records: the line itself is what gets written out. ps-filter and
// ps-fetch so agree on which lines are malformed, and why.
func ScanFields(line []byte, f *Fields) error {
	*f = Fields{}
	err := eachField(line, func(key, val []byte) error {
		if err := checkField(key, val); err != nil {
			return fieldError(key, err)
		}
		f.set(key, val)
		return nil
	})
	if err != nil {
		return err
	}
	typ, _ := RawString(f.Type)
	return checkType(typ)
}

// checkType is the rule every record obeys: it has a type.
func checkType(typ string) error {
	if typ == "" {
		return errors.New(`missing "type"`)
	}
	return nil
}

func fieldError(rawKey []byte, err error) error {
	key := string(rawKey)
	if bytes.IndexByte(rawKey, '\\') >= 0 {
		key, _ = RawString(append(append([]byte{'"'}, rawKey...), '"'))
	}
	return fmt.Errorf("field %q: %w", key, err)
}

// checkField checks the JSON type of one known top-level field, as the
// contract (docs/records.md) gives it; unknown fields may hold anything.
// null stands for an absent field.
func checkField(key, raw []byte) error {
	if string(raw) == "null" {
		return nil
	}
	switch string(key) {
	case "type", "source", "path", "name", "media", "url", "local", "status":
		if raw[0] != '"' {
			return errors.New("want a string")
		}
	case "id":
		if raw[0] != '"' && raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
			return errors.New("want a string")
		}
	case "size", "count", "excluded":
		if _, err := RawInt(raw); err != nil {
			return err
		}
	case "mtime", "taken", "created", "expires":
		s, ok := RawString(raw)
		if !ok {
			return errors.New("want an RFC 3339 string")
		}
		if s != "" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return fmt.Errorf("want RFC 3339 time, got %q", s)
			}
		}
	case "complete":
		if string(raw) != "true" && string(raw) != "false" {
			return errors.New("want true or false")
		}
	case "meta", "session":
		if raw[0] != '{' {
			return errors.New("want an object")
		}
	case "hash":
		if raw[0] != '{' {
			return errors.New("want an object of strings")
		}
		return eachField(raw, func(_, v []byte) error {
			if v[0] != '"' {
				return errors.New("want an object of strings")
			}
			return nil
		})
	case "error":
		if raw[0] != '{' {
			return errors.New("want an object")
		}
		return eachField(raw, func(k, v []byte) error {
			switch string(k) {
			case "class", "message", "hint":
				if v[0] != '"' && string(v) != "null" {
					return fmt.Errorf("%q: want a string", k)
				}
			case "attempts":
				if _, err := RawInt(v); err != nil && string(v) != "null" {
					return fmt.Errorf("%q: %v", k, err)
				}
			}
			return nil
		})
	}
	return nil
}

// eachField validates line as one JSON object and calls fn with each
// top-level key (the raw bytes between its quotes, escapes undone only by
// the caller) and its raw value.
func eachField(line []byte, fn func(key, val []byte) error) error {
	s := scanner{b: line}
	s.ws()
	if !s.eat('{') {
		return s.fail("a record must be a JSON object")
	}
	s.ws()
	if s.eat('}') {
		return s.end()
	}
	for {
		s.ws()
		kStart := s.i
		if err := s.str(); err != nil {
			return err
		}
		key := line[kStart+1 : s.i-1]
		s.ws()
		if !s.eat(':') {
			return s.fail("expected ':' after an object key")
		}
		s.ws()
		vStart := s.i
		if err := s.value(0); err != nil {
			return err
		}
		if err := fn(key, line[vStart:s.i]); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat('}') {
			return s.end()
		}
		return s.fail("expected ',' or '}' in object")
	}
}

func (f *Fields) set(key, val []byte) {
	switch string(key) {
	case "type":
		f.Type = val
	case "path":
		f.Path = val
	case "name":
		f.Name = val
	case "size":
		f.Size = val
	case "mtime":
		f.Mtime = val
	case "taken":
		f.Taken = val
	case "media":
		f.Media = val
	}
}

// maxDepth bounds nesting so a hostile line cannot exhaust the stack.
const maxDepth = 512

type scanner struct {
	b []byte
	i int
}

func (s *scanner) fail(msg string) error {
	return fmt.Errorf("invalid JSON at byte %d: %s", s.i+1, msg)
}

func (s *scanner) end() error {
	s.ws()
	if s.i != len(s.b) {
		return s.fail("trailing data after the record")
	}
	return nil
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.fail("unexpected end of line")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{':
		return s.container(depth, '}', true)
	case c == '[':
		return s.container(depth, ']', false)
	case c == '-' || c >= '0' && c <= '9':
		return s.num()
	case c == 't':
		return s.lit("true")
	case c == 'f':
		return s.lit("false")
	case c == 'n':
		return s.lit("null")
	}
	return s.fail(fmt.Sprintf("unexpected character %q", s.b[s.i]))
}

func (s *scanner) container(depth int, closer byte, object bool) error {
	if depth >= maxDepth {
		return s.fail("nested too deeply")
	}
	s.i++
	s.ws()
	if s.eat(closer) {
		return nil
	}
	for {
		s.ws()
		if object {
			if err := s.str(); err != nil {
				return err
			}
			s.ws()
			if !s.eat(':') {
				return s.fail("expected ':' after an object key")
			}
			s.ws()
		}
		if err := s.value(depth + 1); err != nil {
			return err
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		if s.eat(closer) {
			return nil
		}
		return s.fail(fmt.Sprintf("expected ',' or '%c'", closer))
	}
}

func (s *scanner) lit(word string) error {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return nil
	}
	return s.fail("invalid literal")
}

func (s *scanner) str() error {
	if !s.eat('"') {
		return s.fail("expected a string")
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return s.fail("unfinished escape")
			}
			switch s.b[s.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i += 2
			case 'u':
				if s.i+6 > len(s.b) || !isHex4(s.b[s.i+2:s.i+6]) {
					return s.fail(`bad \u escape`)
				}
				s.i += 6
			default:
				return s.fail("bad escape")
			}
		case c < 0x20:
			return s.fail("control character in string")
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return s.fail("invalid UTF-8")
			}
			s.i += n
		}
	}
	return s.fail("unterminated string")
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func (s *scanner) num() error {
	start := s.i
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return s.fail("bad number")
	}
	if s.eat('.') {
		if s.digits() == 0 {
			return s.fail("bad number")
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if !s.eat('+') {
			s.eat('-')
		}
		if s.digits() == 0 {
			return s.fail("bad number")
		}
	}
	if s.i == start {
		return s.fail("bad number")
	}
	return nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// RawString decodes a raw JSON string value as picked by ScanFields. The
// common case, no escapes, is a plain conversion.
func RawString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c == '\\' {
			s, err := strconv.Unquote(string(raw))
			if err != nil {
				return unquoteJSON(raw)
			}
			return s, true
		}
	}
	return string(inner), true
}

// unquoteJSON handles escapes strconv does not know (\/ and surrogate pairs).
func unquoteJSON(raw []byte) (string, bool) {
	var out []rune
	in := raw[1 : len(raw)-1]
	for i := 0; i < len(in); {
		if in[i] != '\\' {
			r, n := utf8.DecodeRune(in[i:])
			out = append(out, r)
			i += n
			continue
		}
		switch in[i+1] {
		case 'u':
			v, _ := strconv.ParseUint(string(in[i+2:i+6]), 16, 32)
			r := rune(v)
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u' {
				lo, _ := strconv.ParseUint(string(in[i+2:i+6]), 16, 32)
				r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
				i += 6
			}
			out = append(out, r)
			continue
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		default:
			out = append(out, rune(in[i+1]))
		}
		i += 2
	}
	return string(out), true
}

// RawInt reads a raw JSON number as whole bytes (accepting jq's 1e7 form).
func RawInt(raw []byte) (int64, error) {
	if len(raw) == 0 {
		return 0, errors.New("missing")
	}
	n := int64(0)
	plain := true
	for _, c := range raw {
		if c < '0' || c > '9' {
			plain = false
			break
		}
		n = n*10 + int64(c-'0')
	}
	if plain && len(raw) <= 18 {
		return n, nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f != float64(int64(f)) {
		return 0, fmt.Errorf("%s is not a whole number of bytes", raw)
	}
	return int64(f), nil
}
