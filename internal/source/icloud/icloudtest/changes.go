package icloudtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// A zone's change history, for changes/zone (fact sheet 2.4, "Incremental
// sync"; kei's synctoken reference). Every mutation gets the next sequence
// number; a sync token names a zone, an epoch and a sequence number, so
// "what changed since this token" is every log entry after it. The assets
// a zone starts with are sequence 0: the history a token-less call walks.
//
// Where the fact sheet is unsure (the error for an expired token, empty
// pages with moreComing) the behaviour is an option.

// change is one entry of a zone's log.
type change struct {
	seq        int64
	asset      *Asset // nil for a purge
	withMaster bool   // the master changed too (a new asset, a trashed one)
	purged     string // record name of a hard-deleted record
}

// history is a zone's mutation log.
type history struct {
	started bool
	seq     int64    // last sequence number given out
	epoch   int      // bumped by ExpireSyncTokens: older tokens are refused
	log     []change // in sequence order
	latest  map[*Asset]int64
}

// history returns the zone's log, started with its assets as they were
// given (oldest first) when first asked; the caller holds s.mu.
func (z *Zone) history() *history {
	if !z.hist.started {
		z.hist.started = true
		z.hist.latest = map[*Asset]int64{}
		for i := len(z.Assets) - 1; i >= 0; i-- {
			z.record(change{asset: z.Assets[i], withMaster: true})
		}
	}
	return &z.hist
}

// token is the sync token for a zone at seq.
func (z *Zone) token(seq int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("ck1|%s|%d|%d", z.Name, z.history().epoch, seq)))
}

// currentToken is the token of the zone as it is now.
func (z *Zone) currentToken() string { return z.token(z.history().seq) }

// parseToken reads a token; ok is false for a token of another zone, a
// garbage one, or one from before the last ExpireSyncTokens.
func (z *Zone) parseToken(tok string) (seq int64, reason string) {
	raw, err := base64.StdEncoding.DecodeString(tok)
	parts := strings.Split(string(raw), "|")
	if err != nil || len(parts) != 4 || parts[0] != "ck1" {
		return 0, "Unknown sync continuation type"
	}
	epoch, err1 := strconv.Atoi(parts[2])
	seq, err2 := strconv.ParseInt(parts[3], 10, 64)
	switch {
	case err1 != nil || err2 != nil || parts[1] != z.Name:
		return 0, "Invalid continuation format"
	case epoch != z.history().epoch:
		return 0, "sync token expired"
	}
	return seq, ""
}

// record appends a change; the caller holds s.mu.
func (z *Zone) record(c change) {
	z.hist.seq++
	c.seq = z.hist.seq
	if c.asset != nil {
		z.hist.latest[c.asset] = c.seq
	}
	z.hist.log = append(z.hist.log, c)
}

// AddAsset adds a new asset (newest first) to a zone, as when a phone
// uploads a photo.
func (s *Server) AddAsset(zone string, a *Asset) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneNamed(zone)
	z.history()
	z.Assets = append([]*Asset{a}, z.Assets...)
	z.record(change{asset: a, withMaster: true})
	s.libraryChanged(z)
}

// UpdateAsset changes an asset (favourite, hidden, trashed: f sets the
// fields). Only the CPLAsset record changes, unless master is true.
func (s *Server) UpdateAsset(zone, record string, master bool, f func(*Asset)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneNamed(zone)
	z.history()
	for _, a := range z.Assets {
		if a.Record == record || a.Name == record {
			f(a)
			z.record(change{asset: a, withMaster: master})
			s.libraryChanged(z)
			return true
		}
	}
	return false
}

// PurgeAsset removes an asset for good (emptied from Recently Deleted):
// changes/zone then reports its asset and master records as deleted, with
// no record type.
func (s *Server) PurgeAsset(zone, record string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zoneNamed(zone)
	z.history()
	for i, a := range z.Assets {
		if a.Record == record || a.Name == record {
			z.Assets = append(z.Assets[:i:i], z.Assets[i+1:]...)
			delete(z.hist.latest, a)
			z.record(change{purged: a.Record})
			z.record(change{purged: a.Master})
			s.libraryChanged(z)
			return true
		}
	}
	return false
}

// ExpireSyncTokens makes every token issued so far invalid, as Apple does
// after a while (how long is not known).
func (s *Server) ExpireSyncTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, z := range s.zones {
		z.history().epoch++
	}
}

// EmptyChangePages makes the next n changes/zone calls answer no records
// and moreComing true (kei saw long runs of them).
func (s *Server) EmptyChangePages(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emptyChanges = n
}

func (s *Server) zoneNamed(name string) *Zone {
	for _, z := range s.zones {
		if z.Name == name {
			return z
		}
	}
	panic("icloudtest: no zone " + name)
}

// libraryChanged drops what was cached about a zone's assets.
func (s *Server) libraryChanged(z *Zone) {
	s.selections.Clear()
	z.once = sync.Once{}
}

// changesZone answers POST …/changes/zone.
func (s *Server) changesZone(w http.ResponseWriter, r *http.Request, db string) {
	var req struct {
		Zones []struct {
			ZoneID struct {
				ZoneName string `json:"zoneName"`
			} `json:"zoneID"`
			SyncToken    *string `json:"syncToken"`
			ResultsLimit int     `json:"resultsLimit"`
		} `json:"zones"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Zones) == 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "bad changes/zone request"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Changes++
	var out []byte
	out = append(out, `{"zones":[`...)
	for i, zr := range req.Zones {
		z := s.zone(db, zr.ZoneID.ZoneName)
		if z == nil {
			zoneNotFound(w)
			return
		}
		after := int64(-1) // no token: the whole history
		if zr.SyncToken != nil {
			if *zr.SyncToken == "" {
				after = z.history().seq // "" is caught up (kei)
			} else {
				seq, reason := z.parseToken(*zr.SyncToken)
				if reason != "" {
					s.refuseToken(w, reason)
					return
				}
				after = seq
			}
		}
		limit := min(zr.ResultsLimit, s.opts.PageCap)
		if limit <= 0 {
			limit = s.opts.PageCap
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = s.appendChanges(out, z, after, limit)
	}
	out = append(out, "]}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(out)
}

// refuseToken answers an unusable token; the caller holds s.mu.
func (s *Server) refuseToken(w http.ResponseWriter, reason string) {
	code, status := s.opts.TokenErrorCode, s.opts.TokenErrorStatus
	if code == "" {
		code = "BAD_REQUEST"
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	s.stats.TokensRefused++
	writeJSON(w, status, map[string]any{"uuid": randHex(8), "serverErrorCode": code, "reason": reason})
}

// appendChanges writes one zone's page of changes after seq; the caller
// holds s.mu.
func (s *Server) appendChanges(out []byte, z *Zone, after int64, limit int) []byte {
	h := z.history()
	var recs [][]byte
	next, more := after, false
	if s.emptyChanges > 0 {
		s.emptyChanges--
		more = true
	} else {
		s.urlSerial++
		serial, ttl := s.urlSerial, s.opts.URLTTL
		start := sort.Search(len(h.log), func(i int) bool { return h.log[i].seq > after })
	entries:
		for _, c := range h.log[start:] {
			var rs [][]byte
			switch {
			case c.purged != "":
				rs = [][]byte{deletedRecord(z, c.purged)}
			case h.latest[c.asset] != c.seq:
				next = c.seq // superseded by a later change of the same asset
				continue
			default:
				m, as := s.renderAsset(nil, nil, z, c.asset, serial, ttl)
				rs = [][]byte{as}
				if c.withMaster {
					rs = [][]byte{m, as}
				}
			}
			if len(recs)+len(rs) > limit && len(recs) > 0 {
				more = true
				break entries
			}
			recs = append(recs, rs...)
			next = c.seq
		}
		if !more {
			next = h.seq
		}
	}
	out = append(out, `{"zoneID":`...)
	out = appendZoneID(out, z)
	out = append(out, `,"syncToken":`...)
	out = appendJSONString(out, z.token(max(next, 0)))
	out = append(out, `,"moreComing":`...)
	out = strconv.AppendBool(out, more)
	out = append(out, `,"records":[`...)
	for i, rec := range recs {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, rec...)
	}
	return append(out, "]}"...)
}

// deletedRecord is a hard-deleted record: no type, no fields.
func deletedRecord(z *Zone, name string) []byte {
	b := append([]byte(`{"recordName":`), appendJSONString(nil, name)...)
	b = append(b, `,"recordType":null,"deleted":true,"recordChangeTag":"tag-gone","zoneID":`...)
	b = appendZoneID(b, z)
	return append(b, '}')
}

// changesDatabase answers POST …/changes/database: every zone with its
// current token (the fake does not track database tokens).
func (s *Server) changesDatabase(w http.ResponseWriter, db string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var zones []any
	for _, z := range s.zones {
		if z.Shared == (db == "shared") {
			zones = append(zones, map[string]any{"zoneID": zoneID(z), "syncToken": z.currentToken()})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"syncToken": "db-" + randHex(6), "moreComing": false, "zones": zones})
}

// recordsLookup answers POST …/records/lookup (CloudKit Web Services; that
// the Photos container serves it is a GUESS): each named record as
// records/query renders it, or a NOT_FOUND entry.
func (s *Server) recordsLookup(w http.ResponseWriter, r *http.Request, db string) {
	var req struct {
		Records []struct {
			RecordName string `json:"recordName"`
		} `json:"records"`
		ZoneID struct {
			ZoneName string `json:"zoneName"`
		} `json:"zoneID"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": err.Error()})
		return
	}
	s.mu.Lock()
	noLookup := s.opts.NoLookup
	s.stats.Lookups++
	s.urlSerial++
	serial, ttl := s.urlSerial, s.opts.URLTTL
	z := s.zone(db, req.ZoneID.ZoneName)
	s.mu.Unlock()
	switch {
	case noLookup:
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "unknown operation records/lookup"})
		return
	case z == nil:
		zoneNotFound(w)
		return
	}
	byMaster := map[string]*Asset{}
	byRecord := map[string]*Asset{}
	for _, a := range z.Assets {
		byMaster[a.Master], byRecord[a.Record] = a, a
	}
	out := []byte(`{"records":[`)
	for i, want := range req.Records {
		if i > 0 {
			out = append(out, ',')
		}
		if a := byRecord[want.RecordName]; a != nil {
			_, as := s.renderAsset(nil, nil, z, a, serial, ttl)
			out = append(out, as...)
		} else if a := byMaster[want.RecordName]; a != nil {
			m, _ := s.renderAsset(nil, nil, z, a, serial, ttl)
			out = append(out, m...)
		} else {
			out = append(out, `{"recordName":`...)
			out = appendJSONString(out, want.RecordName)
			out = append(out, `,"serverErrorCode":"NOT_FOUND","reason":"Record not found"}`...)
		}
	}
	out = append(out, "]}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(out)
}
