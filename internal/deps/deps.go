//go:build tools

// Package deps pins the libraries the design chose, so go.mod stays stable
// while several packages adopt them. Delete a line once real code imports it.
package deps

import (
	_ "github.com/barasher/go-exiftool"
	_ "github.com/cloudsoda/go-smb2"
	_ "github.com/go-rod/rod"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/vbauerster/mpb/v8"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/text/unicode/norm"
	_ "golang.org/x/time/rate"
)
