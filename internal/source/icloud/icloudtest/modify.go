package icloudtest

import (
	"encoding/json"
	"net/http"
)

// modifyRequest is the records/modify body iCloud Photos on the web sends to
// move an asset to Recently Deleted.
type modifyRequest struct {
	Operations []struct {
		OperationType string `json:"operationType"`
		Record        struct {
			RecordName      string `json:"recordName"`
			RecordType      string `json:"recordType"`
			RecordChangeTag string `json:"recordChangeTag"`
			Fields          struct {
				IsDeleted *struct {
					Value int `json:"value"`
				} `json:"isDeleted"`
			} `json:"fields"`
		} `json:"record"`
	} `json:"operations"`
	ZoneID struct {
		ZoneName string `json:"zoneName"`
	} `json:"zoneID"`
}

// recordsModify supports what ps sends: an update of a CPLAsset's
// isDeleted. A stale change tag is 409 CONFLICT, as CloudKit answers; a
// record that is not there is a per-record NOT_FOUND.
func (s *Server) recordsModify(w http.ResponseWriter, r *http.Request, db string) {
	var req modifyRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": err.Error()})
		return
	}
	z := s.zone(db, req.ZoneID.ZoneName)
	if z == nil {
		zoneNotFound(w)
		return
	}
	s.mu.Lock() // one modify at a time: the tag check and the change are one step
	defer s.mu.Unlock()
	var out []map[string]any
	for _, op := range req.Operations {
		rec := op.Record
		a := s.findAsset(z.Name, rec.RecordName)
		switch {
		case op.OperationType != "update" || rec.RecordType != "CPLAsset" || rec.Fields.IsDeleted == nil:
			writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "the fake supports only isDeleted updates of CPLAsset"})
			return
		case a == nil:
			out = append(out, map[string]any{"recordName": rec.RecordName, "serverErrorCode": "NOT_FOUND", "reason": "record not found"})
			continue
		case rec.RecordChangeTag != z.changeTag(a.Record):
			writeJSON(w, http.StatusConflict, map[string]any{"serverErrorCode": "CONFLICT", "reason": "oplock error: record changed"})
			return
		}
		if rec.Fields.IsDeleted.Value != 1 {
			writeJSON(w, http.StatusBadRequest, map[string]any{"serverErrorCode": "BAD_REQUEST", "reason": "the fake cannot restore from Recently Deleted"})
			return
		}
		tag := "tag-" + randHex(4)
		z.trashed.Store(a.Record, tag)
		z.history() // start the log before this change, if nothing did
		z.record(change{asset: a, withMaster: true})
		out = append(out, map[string]any{
			"recordName": a.Record, "recordType": "CPLAsset", "recordChangeTag": tag,
			"fields": map[string]any{"isDeleted": field(1, "INT64")},
		})
	}
	s.selections.Clear() // the cached index selections no longer hold
	writeJSON(w, http.StatusOK, map[string]any{"records": out, "syncToken": z.currentToken()})
}
