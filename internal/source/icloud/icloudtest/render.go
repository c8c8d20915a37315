package icloudtest

import (
	"encoding/base64"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The page renderer writes CloudKit records by hand rather than through
// encoding/json maps: a 100,000-asset benchmark must measure the client,
// not the fake's reflection. The output is the same JSON as records()
// would give (TestRenderMatchesRecords pins that).

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c < 0x20:
			b = append(b, `\u00`...)
			b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&15])
			i++
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, `\ufffd`...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return append(b, '"')
}

type fieldWriter struct {
	b     []byte
	first bool
}

func (w *fieldWriter) key(name string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendJSONString(w.b, name)
	w.b = append(w.b, `:{"value":`...)
}

func (w *fieldWriter) end(typ string) {
	w.b = append(w.b, `,"type":`...)
	w.b = appendJSONString(w.b, typ)
	w.b = append(w.b, '}')
}

func (w *fieldWriter) str(name, v, typ string) {
	w.key(name)
	w.b = appendJSONString(w.b, v)
	w.end(typ)
}

func (w *fieldWriter) int(name string, v int64, typ string) {
	w.key(name)
	w.b = strconv.AppendInt(w.b, v, 10)
	w.end(typ)
}

func appendZoneID(b []byte, z *Zone) []byte {
	b = append(b, `{"zoneName":`...)
	b = appendJSONString(b, z.Name)
	return append(b, `,"ownerRecordName":"_0f1e2d3c4b5a69788796a5b4c3d2e1f0","zoneType":"REGULAR_CUSTOM_ZONE"}`...)
}

// appendRecord writes one record's envelope around its fields.
func appendRecord(b []byte, z *Zone, name, typ string, added time.Time, fields []byte) []byte {
	b = append(b, `{"recordName":`...)
	b = appendJSONString(b, name)
	b = append(b, `,"recordType":`...)
	b = appendJSONString(b, typ)
	b = append(b, `,"fields":{`...)
	b = append(b, fields...)
	b = append(b, `},"pluginFields":{},"recordChangeTag":`...)
	b = appendJSONString(b, z.changeTag(name))
	for _, k := range []string{"created", "modified"} {
		b = append(b, `,"`+k+`":{"timestamp":`...)
		b = strconv.AppendInt(b, added.UnixMilli(), 10)
		b = append(b, `,"userRecordName":"_0f1e2d3c","deviceID":"2"}`...)
	}
	b = append(b, `,"deleted":false,"zoneID":`...)
	b = appendZoneID(b, z)
	return append(b, '}')
}

// renderAsset writes an asset's CPLMaster and CPLAsset records.
func (s *Server) renderAsset(mb, ab []byte, z *Zone, a *Asset, serial int64, ttl time.Duration) ([]byte, []byte) {
	m := &fieldWriter{first: true}
	m.str("itemType", a.UTI, "STRING")
	m.int("dataClassType", 1, "INT64")
	m.int("originalOrientation", 1, "INT64")
	switch {
	case a.NoFilename:
	case a.StringFilename:
		m.str("filenameEnc", a.Name, "STRING")
	default:
		m.str("filenameEnc", base64.StdEncoding.EncodeToString([]byte(a.Name)), "ENCRYPTED_BYTES")
	}
	as := &fieldWriter{first: true}
	as.key("masterRef")
	as.b = append(as.b, `{"recordName":`...)
	as.b = appendJSONString(as.b, a.Master)
	as.b = append(as.b, `,"action":"DELETE_SELF","zoneID":`...)
	as.b = appendZoneID(as.b, z)
	as.b = append(as.b, '}')
	as.end("REFERENCE")
	as.int("assetDate", a.Taken.UnixMilli(), "TIMESTAMP")
	as.int("addedDate", a.Added.UnixMilli(), "TIMESTAMP")
	as.int("isFavorite", int64(b2i(a.Favorite)), "INT64")
	as.int("isHidden", int64(b2i(a.Hidden)), "INT64")
	as.int("assetSubtypeV2", int64(a.Subtype), "INT64")
	as.int("timeZoneOffset", 7200, "INT64")
	if z.isDeleted(a) {
		as.int("isDeleted", 1, "INT64")
	}
	prefixes := make([]string, 0, len(a.Resources))
	for p := range a.Resources {
		prefixes = append(prefixes, p)
	}
	slices.Sort(prefixes)
	for _, prefix := range prefixes {
		r := a.Resources[prefix]
		w := m
		if assetOnly[prefix] {
			w = as
			as.str("adjustmentType", "com.apple.photo", "STRING")
		}
		w.key(prefix + "Res")
		w.b = append(w.b, `{"fileChecksum":`...)
		w.b = appendJSONString(w.b, s.checksum(r, a, prefix))
		w.b = append(w.b, `,"size":`...)
		w.b = strconv.AppendInt(w.b, r.Size, 10)
		w.b = append(w.b, `,"wrappingKey":"d2s=","referenceChecksum":"AQ==","downloadURL":`...)
		w.b = appendJSONString(w.b, s.downloadURL(z, a, prefix, serial, ttl))
		w.b = append(w.b, '}')
		w.end("ASSETID")
		w.str(prefix+"FileType", r.UTI, "STRING")
		w.int(prefix+"Width", int64(r.Width), "INT64")
		w.int(prefix+"Height", int64(r.Height), "INT64")
	}
	return appendRecord(mb, z, a.Master, "CPLMaster", a.Added, m.b), appendRecord(ab, z, a.Record, "CPLAsset", a.Added, as.b)
}
