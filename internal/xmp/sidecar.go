package xmp

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/ps-photos/ps/internal/fault"
)

// Sidecar naming styles.
const (
	NameLightroom = "lightroom" // IMG_0001.xmp: Lightroom Classic, Camera Raw, also read by darktable
	NameExt       = "ext"       // IMG_0001.CR3.xmp: darktable, digiKam
)

// SidecarPath returns where the sidecar of raw goes.
func SidecarPath(raw, naming string) string {
	if naming == NameExt {
		return raw + ".xmp"
	}
	return strings.TrimSuffix(raw, filepath.Ext(raw)) + ".xmp"
}

// Marshal renders settings as an XMP sidecar: x:xmpmeta / rdf:RDF /
// rdf:Description in the crs namespace. Simple values are attributes,
// sequences rdf:Seq, structures nested rdf:Description, language
// alternatives rdf:Alt; names are crs property IDs and values are escaped.
func Marshal(s Settings) []byte {
	var b bytes.Buffer
	b.WriteString(`<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="ps-xmp">` + "\n")
	b.WriteString(` <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` + "\n")
	b.WriteString(`  <rdf:Description rdf:about=""` + "\n")
	b.WriteString(`    xmlns:crs="` + Namespace + `"`)
	names := s.Names()
	writeAttrs(&b, names, func(n string) Value { return s[n] }, "   ")
	children := 0
	for _, n := range names {
		if s[n].Kind != Text {
			children++
		}
	}
	if children == 0 {
		b.WriteString("/>\n")
	} else {
		b.WriteString(">\n")
		for _, n := range names {
			writeElement(&b, n, s[n], "   ")
		}
		b.WriteString("  </rdf:Description>\n")
	}
	b.WriteString(" </rdf:RDF>\n</x:xmpmeta>\n")
	return b.Bytes()
}

// writeAttrs writes the simple values of a node as attributes.
func writeAttrs(b *bytes.Buffer, names []string, get func(string) Value, indent string) {
	for _, n := range names {
		v := get(n)
		if v.Kind != Text {
			continue
		}
		fmt.Fprintf(b, "\n%scrs:%s=\"%s\"", indent, n, escape(v.Text, true))
	}
}

// writeElement writes a non-simple value as a property element.
func writeElement(b *bytes.Buffer, name string, v Value, indent string) {
	switch v.Kind {
	case Text:
		return
	case Seq:
		fmt.Fprintf(b, "%s<crs:%s>\n%s <rdf:Seq>\n", indent, name, indent)
		for _, it := range v.Items {
			writeItem(b, it, indent+"  ")
		}
		fmt.Fprintf(b, "%s </rdf:Seq>\n%s</crs:%s>\n", indent, indent, name)
	case LangAlt:
		fmt.Fprintf(b, "%s<crs:%s>\n%s <rdf:Alt>\n", indent, name, indent)
		for _, l := range v.Langs {
			fmt.Fprintf(b, "%s  <rdf:li xml:lang=\"%s\">%s</rdf:li>\n", indent, escape(l.Lang, true), escape(l.Text, false))
		}
		fmt.Fprintf(b, "%s </rdf:Alt>\n%s</crs:%s>\n", indent, indent, name)
	case Struct:
		fmt.Fprintf(b, "%s<crs:%s>\n", indent, name)
		writeStruct(b, v, indent+" ")
		fmt.Fprintf(b, "%s</crs:%s>\n", indent, name)
	}
}

// writeItem writes one rdf:li of a sequence.
func writeItem(b *bytes.Buffer, v Value, indent string) {
	switch v.Kind {
	case Text:
		fmt.Fprintf(b, "%s<rdf:li>%s</rdf:li>\n", indent, escape(v.Text, false))
	case Struct:
		fmt.Fprintf(b, "%s<rdf:li>\n", indent)
		writeStruct(b, v, indent+" ")
		fmt.Fprintf(b, "%s</rdf:li>\n", indent)
	case Seq, LangAlt:
		// Arrays of arrays: an rdf:li holding an anonymous array node.
		fmt.Fprintf(b, "%s<rdf:li>\n", indent)
		inner := "rdf:Seq"
		if v.Kind == LangAlt {
			inner = "rdf:Alt"
		}
		fmt.Fprintf(b, "%s <%s>\n", indent, inner)
		if v.Kind == Seq {
			for _, it := range v.Items {
				writeItem(b, it, indent+"  ")
			}
		} else {
			for _, l := range v.Langs {
				fmt.Fprintf(b, "%s  <rdf:li xml:lang=\"%s\">%s</rdf:li>\n", indent, escape(l.Lang, true), escape(l.Text, false))
			}
		}
		fmt.Fprintf(b, "%s </%s>\n%s</rdf:li>\n", indent, inner, indent)
	}
}

// writeStruct writes a structure as an rdf:Description node.
func writeStruct(b *bytes.Buffer, v Value, indent string) {
	byName := map[string]Value{}
	names := make([]string, 0, len(v.Fields))
	children := 0
	for _, f := range v.Fields {
		if !validName(f.Name) {
			continue
		}
		byName[f.Name] = f.Value
		names = append(names, f.Name)
		if f.Value.Kind != Text {
			children++
		}
	}
	fmt.Fprintf(b, "%s<rdf:Description", indent)
	writeAttrs(b, names, func(n string) Value { return byName[n] }, indent+"  ")
	if children == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	for _, n := range names {
		writeElement(b, n, byName[n], indent+" ")
	}
	fmt.Fprintf(b, "%s</rdf:Description>\n", indent)
}

// escape makes text safe for XML content or a double-quoted attribute.
// Characters XML 1.0 cannot carry are dropped; in attributes, tabs and
// line breaks become character references so they survive parsing.
func escape(s string, attr bool) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case (r == '\t' || r == '\n' || r == '\r') && attr:
			fmt.Fprintf(&b, "&#x%X;", r)
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20, r == utf8.RuneError, r >= 0xFFFE && r <= 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			// not allowed in XML 1.0
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ErrExists is returned by WriteSidecar when skipExisting finds a sidecar.
var ErrExists = errors.New("sidecar exists")

// WriteSidecar writes data to path atomically: a temporary file in the
// same folder, renamed over the target, so a reader never sees half a
// sidecar. With skipExisting an existing file is left alone (ErrExists).
func WriteSidecar(path string, data []byte, skipExisting bool) error {
	if skipExisting {
		if _, err := os.Lstat(path); err == nil {
			return ErrExists
		}
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return classifyLocal(err)
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return classifyLocal(err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		os.Remove(tmp.Name())
		return classifyLocal(err)
	}
	if skipExisting {
		// Link fails if the target appeared meanwhile: never overwrite.
		err = os.Link(tmp.Name(), path)
		if err == nil || errors.Is(err, fs.ErrExist) {
			os.Remove(tmp.Name())
			if err != nil {
				return ErrExists
			}
			return nil
		}
		// File systems without hard links (exFAT cards): check, then rename.
		if _, serr := os.Lstat(path); serr == nil {
			os.Remove(tmp.Name())
			return ErrExists
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return classifyLocal(err)
	}
	return nil
}

func classifyLocal(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return fault.Wrap(fault.NotFound, err)
	}
	return fault.Wrap(fault.Local, err)
}
