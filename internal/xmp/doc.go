// Package xmp carries a photographer's Camera Raw style from edited JPGs to
// RAW files as Lightroom XMP sidecars.
//
// The steps are separate so each can be tested on its own:
//
//   - Reader reads Camera Raw settings (the crs namespace) and shooting data
//     through long-running exiftool processes (go-exiftool, -stay_open),
//     with structures read whole (-struct) and ExifTool's tag names mapped
//     back to crs property IDs.
//   - Analyze classifies every setting as style (the same in every JPG) or
//     per-image (tuned shot by shot).
//   - Calibrate matches JPGs to RAWs by capture time and estimates the
//     per-image settings of unmatched RAWs from their nearest matched
//     neighbours in shooting data.
//   - Marshal and WriteSidecar write valid XMP with real property names,
//     atomically.
//
// docs/xmp.md describes the method for users.
package xmp

//go:generate sh -c "perl gen_crs_table.pl && gofmt -w crs_table.go"
