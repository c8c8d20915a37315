package xmp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	exiftool "github.com/barasher/go-exiftool"

	"github.com/ps-photos/ps/internal/fault"
)

// Shot is the shooting data of one file, as far as it is known.
type Shot struct {
	Path string
	// Taken is DateTimeOriginal as the camera clock showed it, in UTC
	// without a zone (clocks rarely know theirs); zero when unknown.
	Taken time.Time
	// SubSec says Taken has sub-second precision.
	SubSec bool
	Serial string
	// ISO, ExposureTime (s), FNumber, FocalLength (mm): 0 when unknown.
	ISO, ExposureTime, FNumber, FocalLength float64
	// Flash is 1 when it fired, 0 when it did not, -1 when unknown.
	Flash int
}

// Edit is one edited JPG: its shooting data and Camera Raw settings.
type Edit struct {
	Shot
	Settings Settings
	// Dropped names what could not be carried over (structures of unknown
	// namespaces, flattened names), for a warning.
	Dropped []string
}

// ReaderOptions configure the exiftool processes.
type ReaderOptions struct {
	// Jobs is how many exiftool processes read in parallel.
	Jobs int
	// Binary is the exiftool to run; "" finds it on PATH.
	Binary string
}

// Reader reads files through long-running exiftool processes (-stay_open):
// never one process per file.
type Reader struct {
	opts ReaderOptions
}

// NewReader checks that exiftool can be found.
func NewReader(opts ReaderOptions) (*Reader, error) {
	if opts.Jobs < 1 {
		opts.Jobs = 1
	}
	if opts.Binary == "" {
		p, err := exec.LookPath("exiftool")
		if err != nil {
			return nil, fault.WithHint(fault.Permanent,
				errors.New("exiftool is not installed"), "apt-get install libimage-exiftool-perl")
		}
		opts.Binary = p
	}
	return &Reader{opts: opts}, nil
}

// shotTags are the only tags read from RAWs: asking exiftool for just
// these (IgnoreTags=all + RequestTags) skips most of its per-tag work.
var shotTags = []string{
	"DateTimeOriginal", "SubSecTimeOriginal", "SerialNumber",
	"ISO", "ExposureTime", "FNumber", "FocalLength", "Flash",
}

// ReadShots reads the shooting data of RAWs. errs[i] is set for a file
// that could not be read.
func (r *Reader) ReadShots(ctx context.Context, paths []string) ([]Shot, []error) {
	fields, errs := r.extract(ctx, paths,
		exiftool.Api("FastScan=2"),
		exiftool.Api("IgnoreTags=all"),
		exiftool.Api("RequestTags="+strings.Join(shotTags, ",")),
	)
	shots := make([]Shot, len(paths))
	for i, f := range fields {
		shots[i] = shotFromFields(paths[i], f)
	}
	return shots, errs
}

// ReadEdits reads the Camera Raw settings and shooting data of edited
// JPGs, structures whole.
func (r *Reader) ReadEdits(ctx context.Context, paths []string) ([]Edit, []error) {
	fields, errs := r.extract(ctx, paths, exiftool.Api("Struct=1"))
	edits := make([]Edit, len(paths))
	for i, f := range fields {
		edits[i].Shot = shotFromFields(paths[i], f)
		if f != nil {
			edits[i].Settings, edits[i].Dropped = settingsFromExifTool(f)
		}
	}
	return edits, errs
}

// batchSize is how many files a worker takes at a time.
const batchSize = 32

// extract runs exiftool -j -G1 -n (plus opts) over paths with up to Jobs
// processes. Each process stays open for the whole run.
func (r *Reader) extract(ctx context.Context, paths []string, opts ...func(*exiftool.Exiftool) error) ([]map[string]any, []error) {
	fields := make([]map[string]any, len(paths))
	errs := make([]error, len(paths))
	if len(paths) == 0 {
		return fields, errs
	}
	workers := min(r.opts.Jobs, (len(paths)+batchSize-1)/batchSize)
	base := []func(*exiftool.Exiftool) error{
		exiftool.SetExiftoolBinaryPath(r.opts.Binary),
		exiftool.NoPrintConversion(),
		exiftool.PrintGroupNames("1"),
		exiftool.Charset("filename=utf8"),
	}
	batches := make(chan int)
	var wg sync.WaitGroup
	var startErr error
	var once sync.Once
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each process needs a read buffer of its own: a shared one is
			// overwritten by another process's answer while it is decoded.
			own := exiftool.Buffer(make([]byte, 256<<10), 256<<20)
			et, err := exiftool.NewExiftool(append(append([]func(*exiftool.Exiftool) error{own}, base...), opts...)...)
			if err != nil {
				once.Do(func() { startErr = fault.Errorf(fault.Permanent, "starting exiftool: %w", err) })
				for range batches {
				}
				return
			}
			defer et.Close()
			for start := range batches {
				end := min(start+batchSize, len(paths))
				for j, fm := range et.ExtractMetadata(paths[start:end]...) {
					fields[start+j], errs[start+j] = metadataResult(fm)
				}
			}
		}()
	}
feed:
	for start := 0; start < len(paths); start += batchSize {
		select {
		case batches <- start:
		case <-ctx.Done():
			break feed
		}
	}
	close(batches)
	wg.Wait()
	for i := range paths {
		switch {
		case fields[i] != nil || errs[i] != nil:
		case startErr != nil:
			errs[i] = startErr
		default:
			errs[i] = fault.Wrap(fault.Canceled, context.Cause(ctx))
		}
	}
	return fields, errs
}

// metadataResult classifies one file's outcome.
func metadataResult(fm exiftool.FileMetadata) (map[string]any, error) {
	switch {
	case errors.Is(fm.Err, exiftool.ErrNotExist):
		return nil, fault.Errorf(fault.NotFound, "%s: no such file", fm.File)
	case fm.Err != nil:
		return nil, fault.Errorf(fault.Permanent, "%s: exiftool: %v", fm.File, fm.Err)
	}
	if msg, ok := fm.Fields["ExifTool:Error"]; ok {
		return nil, fault.Errorf(fault.Permanent, "%s: exiftool: %v", fm.File, msg)
	}
	return fm.Fields, nil
}

// groupOrder is where a tag is looked for first: EXIF, then the XMP copies
// Lightroom writes into exported JPGs, then anything else (maker notes).
var groupOrder = []string{"ExifIFD", "IFD0", "XMP-exif", "XMP-exifEX", "XMP-aux", "XMP-tiff"}

// pick returns the value of tag name from the preferred group.
func pick(fields map[string]any, name string) (any, bool) {
	for _, g := range groupOrder {
		if v, ok := fields[g+":"+name]; ok {
			return v, true
		}
	}
	var keys []string
	for k := range fields {
		if _, n, ok := strings.Cut(k, ":"); ok && n == name {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, false
	}
	sort.Strings(keys)
	return fields[keys[0]], true
}

func pickFloat(fields map[string]any, name string) float64 {
	v, ok := pick(fields, name)
	if !ok {
		return 0
	}
	switch x := v.(type) {
	case float64:
		if x > 0 && !math.IsInf(x, 0) {
			return x
		}
	case string:
		if f, ok := parseNumber(x); ok && f > 0 {
			return f
		}
		// exiftool -n still gives "1/80" for a few odd files.
		if a, b, ok := strings.Cut(x, "/"); ok {
			n, okN := parseNumber(a)
			d, okD := parseNumber(b)
			if okN && okD && d > 0 && n > 0 {
				return n / d
			}
		}
	}
	return 0
}

func pickString(fields map[string]any, name string) string {
	v, ok := pick(fields, name)
	if !ok || v == nil {
		return ""
	}
	return strings.TrimSpace(textOf(v, name))
}

func shotFromFields(path string, f map[string]any) Shot {
	s := Shot{Path: path, Flash: -1}
	if f == nil {
		return s
	}
	s.ISO = pickFloat(f, "ISO")
	s.ExposureTime = pickFloat(f, "ExposureTime")
	s.FNumber = pickFloat(f, "FNumber")
	s.FocalLength = pickFloat(f, "FocalLength")
	s.Serial = pickString(f, "SerialNumber")
	if v, ok := pick(f, "Flash"); ok {
		switch x := v.(type) {
		case float64:
			s.Flash = int(x) & 1
		case map[string]any: // XMP-exif:Flash is a structure with a Fired field
			if fired, ok := x["Fired"].(bool); ok {
				s.Flash = map[bool]int{false: 0, true: 1}[fired]
			}
		}
	}
	s.Taken, s.SubSec = parseTaken(pickString(f, "DateTimeOriginal"), pickString(f, "SubSecTimeOriginal"))
	return s
}

// parseTaken reads "2024:07:01 10:07:00[.21][+02:00]" plus an optional
// SubSecTimeOriginal ("21" = .21 s). The zone is ignored: both sides of a
// match come from camera clocks.
func parseTaken(dto, subsec string) (time.Time, bool) {
	if len(dto) < 19 {
		return time.Time{}, false
	}
	t, err := time.Parse("2006:01:02 15:04:05", dto[:19])
	if err != nil {
		return time.Time{}, false
	}
	frac := ""
	if rest := dto[19:]; strings.HasPrefix(rest, ".") {
		end := 1
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		frac = rest[1:end]
	} else {
		frac = strings.TrimSpace(subsec)
	}
	if frac == "" || strings.Trim(frac, "0123456789") != "" {
		return t, false
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	n, _ := strconv.Atoi(frac + strings.Repeat("0", 9-len(frac)))
	return t.Add(time.Duration(n)), true
}

// String describes a shot for tables.
func (s Shot) String() string {
	var parts []string
	if s.ISO > 0 {
		parts = append(parts, fmt.Sprintf("ISO %g", s.ISO))
	}
	if s.ExposureTime > 0 {
		if s.ExposureTime < 1 {
			parts = append(parts, fmt.Sprintf("1/%gs", math.Round(1/s.ExposureTime)))
		} else {
			parts = append(parts, fmt.Sprintf("%gs", s.ExposureTime))
		}
	}
	if s.FNumber > 0 {
		parts = append(parts, fmt.Sprintf("f/%g", s.FNumber))
	}
	if s.FocalLength > 0 {
		parts = append(parts, fmt.Sprintf("%gmm", s.FocalLength))
	}
	if s.Flash == 1 {
		parts = append(parts, "flash")
	}
	return strings.Join(parts, " ")
}
