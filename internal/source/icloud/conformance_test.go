package icloud_test

import (
	"path"
	"sort"
	"testing"

	"github.com/ps-photos/ps/internal/source"
	"github.com/ps-photos/ps/internal/source/icloud"
	"github.com/ps-photos/ps/internal/source/icloud/icloudtest"
	"github.com/ps-photos/ps/internal/source/sourcetest"
)

func TestConformance(t *testing.T) {
	for _, jobs := range []int{1, 4} {
		sourcetest.Run(t, sourcetest.Config{
			FlatNames: true, // iCloud has no folders: items are matched by name
			New: func(t *testing.T, files []sourcetest.File) (source.Source, source.ListOptions) {
				zone := &icloudtest.Zone{Name: "PrimarySync"}
				for _, f := range files {
					zone.Assets = append(zone.Assets, icloudtest.NewFileAsset(path.Base(f.Path), f.Data, f.Mtime))
				}
				// The list index runs newest first.
				sort.SliceStable(zone.Assets, func(i, j int) bool { return zone.Assets[i].Taken.After(zone.Assets[j].Taken) })
				fake := startFake(t, icloudtest.Options{}, zone)
				return open(t, signedIn(t, fake), "icloud:"), source.ListOptions{Jobs: jobs}
			},
			Factory: &icloud.Factory, BadLocation: "icloud:nonsense/x/y",
		})
	}
}
