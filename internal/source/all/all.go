// Package all lists every source the ps tools can use. Adding a source is
// one line here; the tools never change.
package all

import (
	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/gphotos"
	"github.com/ps-photos/ps/internal/source/httpget"
	"github.com/ps-photos/ps/internal/source/icloud"
	"github.com/ps-photos/ps/internal/source/local"
	"github.com/ps-photos/ps/internal/source/smb"
	"github.com/ps-photos/ps/internal/source/synology"
	"github.com/ps-photos/ps/internal/source/takeout"
)

// Registry returns the registry of every source, in the order ps-list
// --help shows them.
func Registry() *source.Registry {
	return source.NewRegistry(
		local.Factory,
		smb.Factory,
		httpget.Factory,
		takeout.Factory,
		gphotos.Factory,
		synology.Factory,
		icloud.Factory,
	)
}
