package icloudtest

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"
)

// expiry is a download URL's expiry: now plus the TTL, so the two renderings
// may fall on either side of a second.
var expiry = regexp.MustCompile(`e=\d+(&|\\u0026)`)

// The hand-written renderer must give the same JSON as the plain one.
func TestRenderMatchesRecords(t *testing.T) {
	zones := Generate(Spec{Assets: 40, Seed: 3})
	s := &Server{URL: "http://127.0.0.1:1"}
	odd := NewFileAsset("quote\" back\\slash \x01 Zürich.JPG", []byte("x"), time.Unix(1700000000, 0))
	for _, a := range append(zones[0].Assets, odd) {
		m1, a1 := s.records(zones[0], a, 7, time.Hour)
		m2, a2 := s.renderAsset(nil, nil, zones[0], a, 7, time.Hour)
		for i, pair := range [][2]any{{m1, m2}, {a1, a2}} {
			want, _ := json.Marshal(pair[0])
			want = expiry.ReplaceAll(want, []byte("e=E$1"))
			got := expiry.ReplaceAll(pair[1].([]byte), []byte("e=E$1"))
			var w, g any
			json.Unmarshal(want, &w)
			if err := json.Unmarshal(got, &g); err != nil {
				t.Fatalf("%s: rendered JSON is invalid: %v\n%s", a.Name, err, pair[1])
			}
			if !reflect.DeepEqual(w, g) {
				t.Errorf("%s record %d:\n got %s\nwant %s", a.Name, i, pair[1], want)
			}
		}
	}
}
