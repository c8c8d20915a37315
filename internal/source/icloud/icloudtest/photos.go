package icloudtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const ckPrefix = "/database/1/com.apple.photos.cloud/production/"

type filter struct {
	FieldName  string `json:"fieldName"`
	FieldValue struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"fieldValue"`
	Comparator string `json:"comparator"`
}

type ckQuery struct {
	Query struct {
		RecordType string          `json:"recordType"`
		FilterBy   json.RawMessage `json:"filterBy"`
	} `json:"query"`
	ResultsLimit int `json:"resultsLimit"`
	ZoneID       struct {
		ZoneName string `json:"zoneName"`
	} `json:"zoneID"`
	ZoneWide bool `json:"zoneWide"`
}

func (q *ckQuery) filters() []filter {
	var list []filter
	if json.Unmarshal(q.Query.FilterBy, &list) == nil {
		return list
	}
	var one filter
	if json.Unmarshal(q.Query.FilterBy, &one) == nil && one.FieldName != "" {
		return []filter{one}
	}
	return nil
}

func (q *ckQuery) filter(name string) (filter, bool) {
	for _, f := range q.filters() {
		if f.FieldName == name {
			return f, true
		}
	}
	return filter{}, false
}

func (q *ckQuery) stringFilter(name string) string {
	f, _ := q.filter(name)
	var s string
	json.Unmarshal(f.FieldValue.Value, &s)
	return s
}

func (q *ckQuery) intFilter(name string) int {
	f, _ := q.filter(name)
	var n int
	json.Unmarshal(f.FieldValue.Value, &n)
	return n
}

var smartSuffix = map[string]string{
	"Timelapse": "TIMELAPSE", "Video": "VIDEO", "Slomo": "SLOMO", "Favorite": "FAVORITE", "Panorama": "PANORAMA",
	"Screenshot": "SCREENSHOT", "Live": "LIVE", "Depth": "DEPTH", "Exposure": "EXPOSURE", "Animated": "ANIMATED",
}

func (s *Server) handleCloudKit(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, ckPrefix)
	db, op, _ := strings.Cut(rest, "/")
	if db != "private" && db != "shared" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	_, ok := s.webSession(r)
	adp, noWeb := s.opts.ADP, s.opts.NoWebAccess
	s.mu.Unlock()
	switch {
	case !ok:
		writeJSON(w, 421, map[string]any{"uuid": randHex(8), "serverErrorCode": "AUTHENTICATION_REQUIRED", "reason": "no auth method found"})
		return
	case adp || noWeb:
		writeJSON(w, http.StatusForbidden, map[string]any{"uuid": randHex(8), "serverErrorCode": "ACCESS_DENIED", "reason": "private db access disabled for this account"})
		return
	}
	switch op {
	case "zones/list":
		s.zonesList(w, db)
	case "records/query":
		s.recordsQuery(w, r, db)
	case "internal/records/query/batch":
		s.batchQuery(w, r, db)
	case "records/modify":
		s.recordsModify(w, r, db)
	case "changes/zone":
		s.changesZone(w, r, db)
	case "changes/database":
		s.changesDatabase(w, db)
	case "records/lookup":
		s.recordsLookup(w, r, db)
	default:
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "unknown operation " + op})
	}
}

func (s *Server) zonesList(w http.ResponseWriter, db string) {
	var zones []any
	for _, z := range s.zones {
		if z.Shared == (db == "shared") {
			zones = append(zones, map[string]any{"zoneID": zoneID(z)})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"moreComing": false, "syncToken": "sync-" + randHex(6), "zones": zones})
}

func zoneID(z *Zone) map[string]any {
	return map[string]any{"zoneName": z.Name, "ownerRecordName": "_0f1e2d3c4b5a69788796a5b4c3d2e1f0", "zoneType": "REGULAR_CUSTOM_ZONE"}
}

func (s *Server) zone(db, name string) *Zone {
	for _, z := range s.zones {
		if z.Name == name && z.Shared == (db == "shared") {
			return z
		}
	}
	return nil
}

func zoneNotFound(w http.ResponseWriter) {
	writeJSON(w, http.StatusNotFound, map[string]any{"uuid": randHex(8), "serverErrorCode": "ZONE_NOT_FOUND", "reason": "Zone does not exist"})
}

func (s *Server) recordsQuery(w http.ResponseWriter, r *http.Request, db string) {
	var q ckQuery
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": err.Error()})
		return
	}
	z := s.zone(db, q.ZoneID.ZoneName)
	if z == nil {
		zoneNotFound(w)
		return
	}
	s.mu.Lock()
	s.stats.Queries++
	s.mu.Unlock()
	switch q.Query.RecordType {
	case "CheckIndexingState":
		s.mu.Lock()
		state := "FINISHED"
		if s.indexingRun > 0 {
			s.indexingRun--
			state = "RUNNING"
		}
		s.mu.Unlock()
		resp := map[string]any{"records": []any{map[string]any{
			"recordName": "_indexing-" + z.Name, "recordType": "CheckIndexingState",
			"fields": map[string]any{"state": field(state, "STRING"), "progress": field(100, "INT64")}}}}
		if tok := s.querySyncToken(z); tok != "" {
			resp["syncToken"] = tok
		}
		writeJSON(w, http.StatusOK, resp)
	case "CPLAlbumByPositionLive":
		s.albums(w, z)
	default:
		sel, ok := s.selection(z, q.Query.RecordType, &q)
		if !ok {
			writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "Unknown index " + q.Query.RecordType})
			return
		}
		s.mu.Lock()
		s.stats.PageQueries++
		s.mu.Unlock()
		s.page(w, z, sel, &q)
	}
}

func (s *Server) selection(z *Zone, index string, q *ckQuery) ([]*Asset, bool) {
	var keep func(a *Asset) bool
	visible := func(a *Asset) bool { return !a.Hidden && !z.isDeleted(a) }
	var param string
	switch index {
	case "CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted", "CPLAssetAndMasterByAddedDate":
		keep = visible
	case "CPLAssetAndMasterHiddenByAssetDate":
		keep = func(a *Asset) bool { return a.Hidden && !z.isDeleted(a) }
	case "CPLAssetAndMasterDeletedByExpungedDate":
		keep = func(a *Asset) bool { return z.isDeleted(a) }
	case "CPLBurstStackAssetAndMasterByAssetDate":
		keep = func(*Asset) bool { return false }
	case "CPLAssetAndMasterInSmartAlbumByAssetDate":
		param = q.stringFilter("smartAlbum")
		keep = func(a *Asset) bool { return visible(a) && slices.Contains(a.Smart, param) }
	case "CPLContainerRelationLiveByAssetDate":
		param = q.stringFilter("parentId")
		keep = func(a *Asset) bool { return !z.isDeleted(a) && slices.Contains(a.Albums, param) }
	default:
		return nil, false
	}
	key := fmt.Sprintf("%p|%s|%s", z, index, param)
	if v, ok := s.selections.Load(key); ok {
		return v.([]*Asset), true
	}
	var out []*Asset
	for _, a := range z.Assets {
		if keep(a) {
			out = append(out, a)
		}
	}
	s.selections.Store(key, out)
	return out, true
}

func (s *Server) page(w http.ResponseWriter, z *Zone, sel []*Asset, q *ckQuery) {
	s.mu.Lock()
	limit := min(q.ResultsLimit, s.opts.PageCap)
	ttl := s.opts.URLTTL
	s.urlSerial++
	serial := s.urlSerial
	s.mu.Unlock()
	if limit <= 0 {
		limit = s.opts.PageCap
	}
	positions := max(limit/2, 1)
	start := q.intFilter("startRank")
	s.mu.Lock()
	if s.emptyPages[start] > 0 {
		s.emptyPages[start]--
		positions = 0
	}
	s.mu.Unlock()
	descending := q.stringFilter("direction") == "DESCENDING"
	var masters, assets []byte
	n := 0
	for rank := start; rank < start+positions && rank < len(sel) && rank >= 0; rank++ {
		a := sel[rank]
		if descending {
			a = sel[len(sel)-1-rank]
		}
		if n > 0 {
			masters, assets = append(masters, ','), append(assets, ',')
		}
		masters, assets = s.renderAsset(masters, assets, z, a, serial, ttl)
		n++
	}
	out := append([]byte(`{"records":[`), masters...)
	if n > 0 {
		out = append(out, ',')
	}
	out = append(out, assets...)
	out = append(out, ']')
	if tok := s.querySyncToken(z); tok != "" {
		out = append(out, `,"syncToken":`...)
		out = appendJSONString(out, tok)
	}
	if n > 0 {
		out = append(out, `,"continuationMarker":`...)
		out = appendJSONString(out, base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(start+n))))
	}
	out = append(out, "}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Write(out)
}

func field(v any, typ string) map[string]any { return map[string]any{"value": v, "type": typ} }

func meta(z *Zone, t time.Time) map[string]any {
	return map[string]any{"timestamp": t.UnixMilli(), "userRecordName": "_0f1e2d3c", "deviceID": "2"}
}

// records renders an asset as its CPLMaster and CPLAsset records.
func (s *Server) records(z *Zone, a *Asset, serial int64, ttl time.Duration) (master, asset map[string]any) {
	mf := map[string]any{
		"itemType": field(a.UTI, "STRING"), "dataClassType": field(1, "INT64"), "originalOrientation": field(1, "INT64"),
	}
	switch {
	case a.NoFilename:
	case a.StringFilename:
		mf["filenameEnc"] = field(a.Name, "STRING")
	default:
		mf["filenameEnc"] = field(base64.StdEncoding.EncodeToString([]byte(a.Name)), "ENCRYPTED_BYTES")
	}
	af := map[string]any{
		"masterRef":      field(map[string]any{"recordName": a.Master, "action": "DELETE_SELF", "zoneID": zoneID(z)}, "REFERENCE"),
		"assetDate":      field(a.Taken.UnixMilli(), "TIMESTAMP"),
		"addedDate":      field(a.Added.UnixMilli(), "TIMESTAMP"),
		"isFavorite":     field(b2i(a.Favorite), "INT64"),
		"isHidden":       field(b2i(a.Hidden), "INT64"),
		"assetSubtypeV2": field(a.Subtype, "INT64"),
		"timeZoneOffset": field(7200, "INT64"),
	}
	if z.isDeleted(a) {
		af["isDeleted"] = field(1, "INT64")
	}
	for prefix, r := range a.Resources {
		target := mf
		if assetOnly[prefix] {
			target = af
			af["adjustmentType"] = field("com.apple.photo", "STRING")
		}
		target[prefix+"Res"] = field(map[string]any{
			"fileChecksum": s.checksum(r, a, prefix), "size": r.Size, "wrappingKey": "d2s=",
			"referenceChecksum": "AQ==", "downloadURL": s.downloadURL(z, a, prefix, serial, ttl),
		}, "ASSETID")
		target[prefix+"FileType"] = field(r.UTI, "STRING")
		target[prefix+"Width"] = field(r.Width, "INT64")
		target[prefix+"Height"] = field(r.Height, "INT64")
	}
	common := func(name, typ string, f map[string]any) map[string]any {
		return map[string]any{
			"recordName": name, "recordType": typ, "fields": f, "pluginFields": map[string]any{},
			"recordChangeTag": z.changeTag(name), "created": meta(z, a.Added), "modified": meta(z, a.Added),
			"deleted": false, "zoneID": zoneID(z),
		}
	}
	return common(a.Master, "CPLMaster", mf), common(a.Record, "CPLAsset", af)
}

func (s *Server) checksum(r *Resource, a *Asset, prefix string) string {
	if v, ok := s.checksums.Load(r); ok {
		return v.(string)
	}
	sum := Checksum(a.content(prefix))
	s.checksums.Store(r, sum)
	return sum
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// downloadURL mints a URL in Apple's shape. It carries its target and
// expiry itself, so a 100,000-asset listing costs the fake no memory.
func (s *Server) downloadURL(z *Zone, a *Asset, prefix string, serial int64, ttl time.Duration) string {
	exp := time.Now().Add(ttl).Unix()
	tok := base64.RawURLEncoding.EncodeToString([]byte(strings.Join([]string{z.Name, a.Record, prefix, strconv.FormatInt(serial, 10)}, "\x00")))
	return fmt.Sprintf("%s/B/%s/${f}?o=Ab%d&v=1&x=3&a=CAog&e=%d&k=d2s&fl=&r=%d-1&ckc=com.apple.photos.cloud&ckz=%s&y=1&p=61&s=sig",
		s.URL, tok, len(a.Record), exp, serial, z.Name)
}

func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/B/")
	tokStr, _, _ := strings.Cut(rest, "/")
	raw, err := base64.RawURLEncoding.DecodeString(tokStr)
	parts := strings.Split(string(raw), "\x00")
	s.mu.Lock()
	s.stats.Downloads++
	s.mu.Unlock()
	if err != nil || len(parts) != 4 {
		http.NotFound(w, r)
		return
	}
	serial, _ := strconv.ParseInt(parts[3], 10, 64)
	exp, _ := strconv.ParseInt(r.URL.Query().Get("e"), 10, 64)
	a := s.findAsset(parts[0], parts[1])
	if a == nil || a.Resources[parts[2]] == nil {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	if s.expireNext[a.Record] {
		delete(s.expireNext, a.Record)
		s.minSerial[a.Record] = s.urlSerial + 1
	}
	expired := time.Now().Unix() > exp || serial < s.minSerial[a.Record]
	if expired {
		s.stats.Expired++
	}
	s.mu.Unlock()
	if expired {
		http.Error(w, "Gone", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="${f}"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.content(parts[2])))
}

func (s *Server) findAsset(zone, record string) *Asset {
	for _, z := range s.zones {
		if z.Name == zone {
			z.once.Do(func() {
				z.byRecord = map[string]*Asset{}
				for _, a := range z.Assets {
					z.byRecord[a.Record] = a
				}
			})
			return z.byRecord[record]
		}
	}
	return nil
}

func (s *Server) albums(w http.ResponseWriter, z *Zone) {
	var recs []any
	for i, al := range z.Albums {
		f := map[string]any{"albumType": field(al.Type, "INT64"), "position": field(1024*(i+1), "INT64"),
			"sortAscending": field(1, "INT64"), "sortType": field(0, "INT64")}
		if al.Name != "" {
			f["albumNameEnc"] = field(base64.StdEncoding.EncodeToString([]byte(al.Name)), "ENCRYPTED_BYTES")
		}
		if al.Deleted {
			f["isDeleted"] = field(1, "INT64")
		}
		if al.Parent != "" {
			f["parentId"] = field(al.Parent, "STRING")
		}
		recs = append(recs, map[string]any{"recordName": al.Record, "recordType": "CPLAlbum", "fields": f,
			"recordChangeTag": "t", "deleted": false, "zoneID": zoneID(z)})
	}
	if recs == nil {
		recs = []any{}
	}
	resp := map[string]any{"records": recs}
	if tok := s.querySyncToken(z); tok != "" {
		resp["syncToken"] = tok
	}
	writeJSON(w, http.StatusOK, resp)
}

// querySyncToken is the zone's current token, which records/query answers
// carry (kei: the same token changes/zone takes), unless NoQuerySyncToken.
func (s *Server) querySyncToken(z *Zone) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.NoQuerySyncToken {
		return ""
	}
	return z.currentToken()
}

func (s *Server) batchQuery(w http.ResponseWriter, r *http.Request, db string) {
	var req struct {
		Batch []ckQuery `json:"batch"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": err.Error()})
		return
	}
	var out []any
	for _, q := range req.Batch {
		z := s.zone(db, q.ZoneID.ZoneName)
		if z == nil {
			zoneNotFound(w)
			return
		}
		var ids []string
		f, _ := q.filter("indexCountID")
		json.Unmarshal(f.FieldValue.Value, &ids)
		var recs []any
		for _, id := range ids {
			n, ok := s.count(z, id)
			if !ok {
				writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "Unknown count index " + id})
				return
			}
			recs = append(recs, map[string]any{"recordName": id, "recordType": "IndexCountResult",
				"fields": map[string]any{"itemCount": field(n, "INT64")}})
		}
		out = append(out, map[string]any{"records": recs})
	}
	writeJSON(w, http.StatusOK, map[string]any{"batch": out})
}

// count answers HyperionIndexCountLookup for a count index.
func (s *Server) count(z *Zone, id string) (int, bool) {
	name, param, _ := strings.Cut(id, ":")
	list := map[string]string{
		"CPLAssetByAssetDateWithoutHiddenOrDeleted": "CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted",
		"CPLAssetByAddedDate":                       "CPLAssetAndMasterByAddedDate",
		"CPLAssetHiddenByAssetDate":                 "CPLAssetAndMasterHiddenByAssetDate",
		"CPLAssetDeletedByExpungedDate":             "CPLAssetAndMasterDeletedByExpungedDate",
		"CPLAssetBurstStackAssetByAssetDate":        "CPLBurstStackAssetAndMasterByAssetDate",
		"CPLAssetInSmartAlbumByAssetDate":           "CPLAssetAndMasterInSmartAlbumByAssetDate",
		"CPLContainerRelationNotDeletedByAssetDate": "CPLContainerRelationLiveByAssetDate",
	}[name]
	if list == "" {
		return 0, false
	}
	q := &ckQuery{}
	switch name {
	case "CPLAssetInSmartAlbumByAssetDate":
		q.Query.FilterBy, _ = json.Marshal([]any{map[string]any{"fieldName": "smartAlbum", "comparator": "EQUALS", "fieldValue": field(smartSuffix[param], "STRING")}})
	case "CPLContainerRelationNotDeletedByAssetDate":
		q.Query.FilterBy, _ = json.Marshal([]any{map[string]any{"fieldName": "parentId", "comparator": "EQUALS", "fieldValue": field(param, "STRING")}})
	}
	sel, ok := s.selection(z, list, q)
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(len(sel)+s.opts.CountOffset, 0), ok
}
