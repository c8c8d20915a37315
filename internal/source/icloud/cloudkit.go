package icloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ps-photos/ps/internal/fault"
)

// ck talks to the Photos CloudKit database of one account.
type ck struct {
	c      *client
	base   string // {photos_url}/database/1/com.apple.photos.cloud/production
	params string
	header http.Header
}

func newCK(c *client, a *Account) *ck {
	q := url.Values{}
	q.Set("clientBuildNumber", "2522Project44")
	q.Set("clientMasteringNumber", "2522B2")
	q.Set("clientId", a.ClientID)
	q.Set("dsid", a.DSID)
	q.Set("remapEnums", "true")
	q.Set("getCurrentSyncToken", "true")
	h := http.Header{}
	h.Set("Content-Type", "text/plain")
	h.Set("Origin", "https://www.icloud.com")
	h.Set("Referer", "https://www.icloud.com/")
	h.Set("Cookie", cookieHeader(a.Cookies))
	return &ck{c: c, base: a.PhotosURL + "/database/1/com.apple.photos.cloud/production", params: q.Encode(), header: h}
}

// post sends one CloudKit call and decodes its answer into out.
func (k *ck) post(ctx context.Context, db, op string, withParams bool, body, out any) error {
	u := k.base + "/" + db + "/" + op
	if withParams {
		u += "?" + k.params
	}
	resp, err := k.c.do(ctx, request{where: op, method: http.MethodPost, url: u, header: k.header, body: body})
	if err != nil {
		// A 421 that outlived the retries is a session Apple no longer
		// accepts.
		if s := statusOf(err); (s == 421 || s == 450) && fault.ClassOf(err) == fault.RateLimited {
			return fault.WithHint(fault.Auth, err, k.c.hint)
		}
		return err
	}
	if err := json.Unmarshal(resp.body, out); err != nil {
		return fault.Errorf(fault.Transient, "%s: unreadable answer: %v", op, err)
	}
	return nil
}

// ckRecord is a CloudKit record. Only the fields ps reads are decoded,
// into typed slots: a 200-record page decodes several times faster than
// into a map of raw values.
type ckRecord struct {
	RecordName      string   `json:"recordName"`
	RecordType      string   `json:"recordType"`
	RecordChangeTag string   `json:"recordChangeTag"`
	Fields          ckFields `json:"fields"`
	Deleted         bool     `json:"deleted"`
	ServerErrorCode string   `json:"serverErrorCode"`
	Reason          string   `json:"reason"`
	Created         struct {
		Timestamp int64 `json:"timestamp"`
	} `json:"created"`
}

// ckField is a scalar field: a string, a number (INT64, TIMESTAMP) or
// base64 bytes.
type ckField struct {
	Value json.RawMessage `json:"value"`
	Type  string          `json:"type"`
}

type ckRefField struct {
	Value struct {
		RecordName string `json:"recordName"`
	} `json:"value"`
}

type ckResField struct {
	Value ckResource `json:"value"`
}

type ckResource struct {
	FileChecksum string `json:"fileChecksum"`
	Size         int64  `json:"size"`
	DownloadURL  string `json:"downloadURL"`
}

// ckFields are the record fields ps reads.
type ckFields struct {
	FilenameEnc                 *ckField    `json:"filenameEnc"`
	ItemType                    *ckField    `json:"itemType"`
	AssetDate                   *ckField    `json:"assetDate"`
	AddedDate                   *ckField    `json:"addedDate"`
	IsFavorite                  *ckField    `json:"isFavorite"`
	IsHidden                    *ckField    `json:"isHidden"`
	IsDeleted                   *ckField    `json:"isDeleted"`
	AdjustmentType              *ckField    `json:"adjustmentType"`
	State                       *ckField    `json:"state"`
	AlbumNameEnc                *ckField    `json:"albumNameEnc"`
	AlbumType                   *ckField    `json:"albumType"`
	ParentId                    *ckField    `json:"parentId"`
	ItemCount                   *ckField    `json:"itemCount"`
	MasterRef                   *ckRefField `json:"masterRef"`
	ResOriginalRes              *ckResField `json:"resOriginalRes"`
	ResOriginalFileType         *ckField    `json:"resOriginalFileType"`
	ResOriginalAltRes           *ckResField `json:"resOriginalAltRes"`
	ResOriginalAltFileType      *ckField    `json:"resOriginalAltFileType"`
	ResJPEGMedRes               *ckResField `json:"resJPEGMedRes"`
	ResJPEGMedFileType          *ckField    `json:"resJPEGMedFileType"`
	ResJPEGThumbRes             *ckResField `json:"resJPEGThumbRes"`
	ResJPEGThumbFileType        *ckField    `json:"resJPEGThumbFileType"`
	ResJPEGFullRes              *ckResField `json:"resJPEGFullRes"`
	ResJPEGFullFileType         *ckField    `json:"resJPEGFullFileType"`
	ResOriginalVidComplRes      *ckResField `json:"resOriginalVidComplRes"`
	ResOriginalVidComplFileType *ckField    `json:"resOriginalVidComplFileType"`
	ResVidMedRes                *ckResField `json:"resVidMedRes"`
	ResVidMedFileType           *ckField    `json:"resVidMedFileType"`
	ResVidSmallRes              *ckResField `json:"resVidSmallRes"`
	ResVidSmallFileType         *ckField    `json:"resVidSmallFileType"`
	ResVidFullRes               *ckResField `json:"resVidFullRes"`
	ResVidFullFileType          *ckField    `json:"resVidFullFileType"`
}

func (f *ckFields) scalar(name string) *ckField {
	switch name {
	case "filenameEnc":
		return f.FilenameEnc
	case "itemType":
		return f.ItemType
	case "assetDate":
		return f.AssetDate
	case "addedDate":
		return f.AddedDate
	case "isFavorite":
		return f.IsFavorite
	case "isHidden":
		return f.IsHidden
	case "isDeleted":
		return f.IsDeleted
	case "adjustmentType":
		return f.AdjustmentType
	case "state":
		return f.State
	case "albumNameEnc":
		return f.AlbumNameEnc
	case "albumType":
		return f.AlbumType
	case "parentId":
		return f.ParentId
	case "itemCount":
		return f.ItemCount
	case "resOriginalFileType":
		return f.ResOriginalFileType
	case "resOriginalAltFileType":
		return f.ResOriginalAltFileType
	case "resJPEGMedFileType":
		return f.ResJPEGMedFileType
	case "resJPEGThumbFileType":
		return f.ResJPEGThumbFileType
	case "resJPEGFullFileType":
		return f.ResJPEGFullFileType
	case "resOriginalVidComplFileType":
		return f.ResOriginalVidComplFileType
	case "resVidMedFileType":
		return f.ResVidMedFileType
	case "resVidSmallFileType":
		return f.ResVidSmallFileType
	case "resVidFullFileType":
		return f.ResVidFullFileType
	}
	return nil
}

func (f *ckFields) res(prefix string) *ckResField {
	switch prefix {
	case "resOriginal":
		return f.ResOriginalRes
	case "resOriginalAlt":
		return f.ResOriginalAltRes
	case "resJPEGMed":
		return f.ResJPEGMedRes
	case "resJPEGThumb":
		return f.ResJPEGThumbRes
	case "resJPEGFull":
		return f.ResJPEGFullRes
	case "resOriginalVidCompl":
		return f.ResOriginalVidComplRes
	case "resVidMed":
		return f.ResVidMedRes
	case "resVidSmall":
		return f.ResVidSmallRes
	case "resVidFull":
		return f.ResVidFullRes
	}
	return nil
}

func (r *ckRecord) str(name string) string {
	var s string
	if f := r.Fields.scalar(name); f != nil {
		json.Unmarshal(f.Value, &s)
	}
	return s
}

func (r *ckRecord) int(name string) int64 {
	f := r.Fields.scalar(name)
	if f == nil {
		return 0
	}
	i, err := strconv.ParseInt(string(f.Value), 10, 64)
	if err != nil {
		var n json.Number
		if json.Unmarshal(f.Value, &n) == nil {
			fl, _ := n.Float64()
			return int64(fl)
		}
	}
	return i
}

func (r *ckRecord) has(name string) bool {
	if p, ok := strings.CutSuffix(name, "Res"); ok && r.Fields.res(p) != nil {
		return true
	}
	return r.Fields.scalar(name) != nil
}

func (r *ckRecord) time(name string) time.Time {
	ms := r.int(name)
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (r *ckRecord) ref(name string) string {
	if name == "masterRef" && r.Fields.MasterRef != nil {
		return r.Fields.MasterRef.Value.RecordName
	}
	return ""
}

func (r *ckRecord) resource(prefix string) (ckResource, string, bool) {
	f := r.Fields.res(prefix)
	if f == nil {
		return ckResource{}, "", false
	}
	return f.Value, r.str(prefix + "FileType"), true
}

// fileName decodes filenameEnc: base64 of UTF-8 (ENCRYPTED_BYTES) or a
// plain STRING. ok is false when it is missing or undecodable.
func (r *ckRecord) fileName() (string, bool) {
	f := r.Fields.FilenameEnc
	if f == nil {
		return "", false
	}
	var s string
	if json.Unmarshal(f.Value, &s) != nil || s == "" {
		return "", false
	}
	switch f.Type {
	case "STRING":
		return s, true
	case "ENCRYPTED_BYTES":
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return "", false
		}
		return string(b), true
	}
	return "", false
}

// queryResponse is a records/query answer.
type queryResponse struct {
	Records            []ckRecord `json:"records"`
	ContinuationMarker string     `json:"continuationMarker"`
	SyncToken          string     `json:"syncToken"`
}

// listQuery is the index a listing pages through.
type listQuery struct {
	recordType string
	countID    string
	filter     map[string]any // the extra filter, or nil
	direction  string
}

func (q listQuery) body(zone string, rank, limit int) map[string]any {
	dir := q.direction
	if dir == "" {
		dir = "ASCENDING"
	}
	filters := []any{
		map[string]any{"fieldName": "startRank", "fieldValue": map[string]any{"type": "INT64", "value": rank}, "comparator": "EQUALS"},
		map[string]any{"fieldName": "direction", "fieldValue": map[string]any{"type": "STRING", "value": dir}, "comparator": "EQUALS"},
	}
	if q.filter != nil {
		filters = append(filters, q.filter)
	}
	return map[string]any{
		"query":        map[string]any{"filterBy": filters, "recordType": q.recordType},
		"resultsLimit": limit, "desiredKeys": desiredKeys, "zoneID": map[string]any{"zoneName": zone},
	}
}

func equalsFilter(name, value string) map[string]any {
	return map[string]any{"fieldName": name, "fieldValue": map[string]any{"type": "STRING", "value": value}, "comparator": "EQUALS"}
}

// desiredKeys are the fields we read, as icloudpd asks for them.
var desiredKeys = func() []string {
	var keys []string
	for _, p := range []string{"resJPEGFull", "resJPEGLarge", "resJPEGMed", "resJPEGThumb", "resVidFull", "resVidMed",
		"resVidSmall", "resSidecar", "resOriginal", "resOriginalAlt", "resOriginalVidCompl"} {
		for _, s := range []string{"Width", "Height", "FileType", "Fingerprint", "Res"} {
			keys = append(keys, p+s)
		}
	}
	return append(keys, "itemType", "dataClassType", "filenameEnc", "originalOrientation", "isDeleted", "isExpunged",
		"dateExpunged", "remappedRef", "recordName", "recordType", "recordChangeTag", "masterRef", "adjustmentRenderType",
		"assetDate", "addedDate", "isFavorite", "isHidden", "orientation", "duration", "assetSubtype", "assetSubtypeV2",
		"assetHDRType", "burstFlags", "burstFlagsExt", "burstId", "adjustmentType", "timeZoneOffset", "vidComplDurValue",
		"vidComplDurScale", "vidComplVisibilityState", "customRenderedValue", "containerId", "itemId", "position", "isKeyAsset")
}()

// smartFolders maps location names to icloudpd's smart folder indexes.
var smartFolders = map[string]listQuery{
	"favorites":        smart("Favorite", "FAVORITE"),
	"favourites":       smart("Favorite", "FAVORITE"),
	"videos":           smart("Video", "VIDEO"),
	"screenshots":      smart("Screenshot", "SCREENSHOT"),
	"live":             smart("Live", "LIVE"),
	"panoramas":        smart("Panorama", "PANORAMA"),
	"time-lapse":       smart("Timelapse", "TIMELAPSE"),
	"slo-mo":           smart("Slomo", "SLOMO"),
	"portrait":         smart("Depth", "DEPTH"),
	"long-exposure":    smart("Exposure", "EXPOSURE"),
	"animated":         smart("Animated", "ANIMATED"),
	"hidden":           {recordType: "CPLAssetAndMasterHiddenByAssetDate", countID: "CPLAssetHiddenByAssetDate"},
	"recently-deleted": {recordType: "CPLAssetAndMasterDeletedByExpungedDate", countID: "CPLAssetDeletedByExpungedDate"},
	"bursts":           {recordType: "CPLBurstStackAssetAndMasterByAssetDate", countID: "CPLAssetBurstStackAssetByAssetDate"},
}

var allPhotos = listQuery{recordType: "CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted", countID: "CPLAssetByAssetDateWithoutHiddenOrDeleted"}

func smart(suffix, tag string) listQuery {
	return listQuery{recordType: "CPLAssetAndMasterInSmartAlbumByAssetDate", countID: "CPLAssetInSmartAlbumByAssetDate:" + suffix,
		filter: equalsFilter("smartAlbum", tag)}
}

func albumQuery(recordName string) listQuery {
	return listQuery{recordType: "CPLContainerRelationLiveByAssetDate", countID: "CPLContainerRelationNotDeletedByAssetDate:" + recordName,
		filter: equalsFilter("parentId", recordName)}
}

// utiExt maps Apple's itemType UTIs to file extensions.
var utiExt = map[string]string{
	"public.jpeg": "JPG", "public.heic": "HEIC", "public.heif": "HEIF", "public.png": "PNG", "public.tiff": "TIF",
	"com.compuserve.gif": "GIF", "org.webmproject.webp": "WEBP", "com.apple.quicktime-movie": "MOV", "public.mpeg-4": "MP4",
	"com.adobe.raw-image": "DNG", "com.canon.cr2-raw-image": "CR2", "com.canon.cr3-raw-image": "CR3",
	"com.canon.crw-raw-image": "CRW", "com.sony.arw-raw-image": "ARW", "com.fuji.raw-image": "RAF",
	"com.panasonic.rw2-raw-image": "RW2", "com.nikon.raw-image": "NEF", "com.nikon.nrw-raw-image": "NRW",
	"com.pentax.raw-image": "PEF", "com.olympus.raw-image": "ORF", "com.olympus.or-raw-image": "ORF",
}

func isRawUTI(uti string) bool { return strings.Contains(uti, "raw-image") }

func isVideoUTI(uti string) bool {
	return uti == "com.apple.quicktime-movie" || uti == "public.mpeg-4" || strings.Contains(uti, "movie")
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9]`)
