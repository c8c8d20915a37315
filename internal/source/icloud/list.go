package icloud

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ps-photos/ps/internal/fault"
	"github.com/ps-photos/ps/internal/record"
	"github.com/ps-photos/ps/internal/source"
)

func base64Std(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// Variants a listing can ask for, and the resource field prefix of each
// for photos and videos (docs/protocols/icloud.md §2.5).
var variantPrefix = map[string][2]string{
	"original":    {"resOriginal", "resOriginal"},
	"alternative": {"resOriginalAlt", ""},
	"medium":      {"resJPEGMed", "resVidMed"},
	"thumb":       {"resJPEGThumb", "resVidSmall"},
	"adjusted":    {"resJPEGFull", "resVidFull"},
}

var variantOrder = []string{"original", "alternative", "medium", "thumb", "adjusted"}

// livePrefix is the live photo video resource for a photo variant.
var livePrefix = map[string]string{"original": "resOriginalVidCompl", "medium": "resVidMed", "thumb": "resVidSmall"}

// itemRules say which items an asset gives.
type itemRules struct {
	variants     []string
	live         string // skip, include, only
	since, until time.Time
}

func newItemRules(opts source.ListOptions, flags *ListFlags) (itemRules, error) {
	r := itemRules{live: flags.LivePhotos, since: opts.Since, until: opts.Until}
	if r.live == "" {
		r.live = "include"
	}
	if r.live != "skip" && r.live != "include" && r.live != "only" {
		return r, fault.Errorf(fault.Permanent, "--live-photos %q: want skip, include or only", r.live)
	}
	for _, v := range flags.Size {
		if _, ok := variantPrefix[v]; !ok {
			return r, fault.Errorf(fault.Permanent, "--variant %q: want original, medium, thumb, adjusted or alternative", v)
		}
		if !slices.Contains(r.variants, v) {
			r.variants = append(r.variants, v)
		}
	}
	if len(r.variants) == 0 {
		r.variants = []string{"original"}
	}
	return r, nil
}

// allItems are the rules Open uses to find any item of an asset again.
var allItems = itemRules{variants: variantOrder, live: "include"}

// pair is one position of a page: the asset and its master.
type pair struct {
	asset, master *ckRecord
	rank          int
}

// pagePairs matches assets with masters. Records the server could not
// return (a serverErrorCode) are dropped, as kei does.
func pagePairs(resp *queryResponse, start int) []pair {
	masters := map[string]*ckRecord{}
	for i := range resp.Records {
		r := &resp.Records[i]
		if r.RecordType == "CPLMaster" && r.ServerErrorCode == "" {
			masters[r.RecordName] = r
		}
	}
	var out []pair
	pos := 0
	for i := range resp.Records {
		r := &resp.Records[i]
		if r.RecordType != "CPLAsset" {
			continue
		}
		rank := start + pos
		pos++
		if r.ServerErrorCode != "" {
			continue
		}
		if m := masters[r.ref("masterRef")]; m != nil {
			out = append(out, pair{asset: r, master: m, rank: rank})
		}
	}
	return out
}

// countMasters says whether a page held anything: icloudpd's end test.
func countMasters(resp *queryResponse) int {
	n := 0
	for _, r := range resp.Records {
		if r.RecordType == "CPLMaster" {
			n++
		}
	}
	return n
}

// items turns one asset into its items: the variants asked for (a
// RAW+JPEG pair gives both files for "original"), live photos' videos as
// the rules say, each carrying the variants the asset has.
func (r itemRules) items(p pair, z zone, location string) []*record.Record {
	uti := p.master.str("itemType")
	taken := takenAt(p.asset, p.master)
	if !r.since.IsZero() && taken.Before(r.since) || !r.until.IsZero() && taken.After(r.until) {
		return nil
	}
	b := &assetItems{p: p, z: z, location: location, name: fileNameOf(p.master, uti), taken: taken,
		video: isVideoUTI(uti), res: newResources(p.asset, p.master)}
	b.available = b.availableVariants()
	var out []*record.Record
	if r.live != "only" {
		out = b.variantItems(r.wantedVariants(b.res))
	}
	if b.isLive() && r.live != "skip" {
		out = b.addLiveItems(out, r.variants)
	}
	linkRawPair(out)
	return out
}

// fileNameOf is the master's file name or, as icloudpd falls back, its
// record name cleaned, with an extension from the item type.
func fileNameOf(m *ckRecord, uti string) string {
	if name, ok := m.fileName(); ok {
		return name
	}
	base := m.RecordName
	if len(base) > 12 {
		base = base[:12]
	}
	return nonWord.ReplaceAllString(base, "_") + "." + orDefault(utiExt[uti], "BIN")
}

// takenAt is the asset's date, else when it was added, else when the
// master was created.
func takenAt(a, m *ckRecord) time.Time {
	taken := a.time("assetDate")
	if taken.IsZero() {
		taken = a.time("addedDate")
	}
	if taken.IsZero() && m.Created.Timestamp > 0 {
		taken = time.UnixMilli(m.Created.Timestamp).UTC()
	}
	return taken
}

// resources finds an asset's resources, decoding each once: the asset's
// (edits) win over the master's.
type resources struct {
	a, m  *ckRecord
	cache map[string]foundResource
}

type foundResource struct {
	res ckResource
	uti string
	ok  bool
}

func newResources(a, m *ckRecord) *resources {
	return &resources{a: a, m: m, cache: map[string]foundResource{}}
}

func (rs *resources) find(prefix string) (ckResource, string, bool) {
	if prefix == "" {
		return ckResource{}, "", false
	}
	if f, ok := rs.cache[prefix]; ok {
		return f.res, f.uti, f.ok
	}
	res, t, ok := rs.a.resource(prefix)
	if !ok {
		res, t, ok = rs.m.resource(prefix)
	}
	rs.cache[prefix] = foundResource{res, t, ok}
	return res, t, ok
}

// wantedVariants are the variants asked for, plus "alternative" when
// "original" is asked for and the asset is a RAW+JPEG pair.
func (r itemRules) wantedVariants(rs *resources) []string {
	want := slices.Clone(r.variants)
	if slices.Contains(want, "original") && !slices.Contains(want, "alternative") {
		if _, ou, ok1 := rs.find("resOriginal"); ok1 {
			if _, au, ok2 := rs.find("resOriginalAlt"); ok2 && (isRawUTI(ou) || isRawUTI(au)) {
				want = append(want, "alternative")
			}
		}
	}
	return want
}

// assetItems builds the items of one asset.
type assetItems struct {
	p         pair
	z         zone
	location  string
	name      string
	taken     time.Time
	video     bool
	res       *resources
	available map[string]any // variant → size, for meta.variants
}

// kind indexes variantPrefix: 0 photo, 1 video.
func (b *assetItems) kind() int {
	if b.video {
		return 1
	}
	return 0
}

// isLive: a photo with a live video part.
func (b *assetItems) isLive() bool {
	_, _, ok := b.res.find("resOriginalVidCompl")
	return ok && !b.video
}

func (b *assetItems) availableVariants() map[string]any {
	available := map[string]any{}
	for _, v := range variantOrder {
		if res, _, ok := b.res.find(variantPrefix[v][b.kind()]); ok {
			available[v] = res.Size
		}
	}
	if live, _, ok := b.res.find("resOriginalVidCompl"); ok && !b.video {
		available["live"] = live.Size
	}
	return available
}

// item makes one item record of the asset.
func (b *assetItems) item(id, fileName, v, uti string, res ckResource) *record.Record {
	a, m := b.p.asset, b.p.master
	media := record.MediaOf(fileName)
	if isRawUTI(uti) {
		media = record.MediaRaw
	}
	return &record.Record{
		Type: record.TypeItem, Source: b.location, ID: id, Path: fileName, Name: fileName, Size: res.Size,
		Mtime: b.taken, Taken: b.taken, Media: media,
		Meta: map[string]any{
			"zone": b.z.name, "database": b.z.db, "rank": b.p.rank, "asset": a.RecordName, "master": m.RecordName,
			"variant": v, "item_type": uti, "favorite": a.int("isFavorite") == 1, "hidden": a.int("isHidden") == 1,
			"edited":   a.has("resJPEGFullRes") || a.has("resVidFullRes") || a.str("adjustmentType") != "",
			"variants": b.available,
		},
	}
}

// variantItems gives one item per wanted variant the asset has.
func (b *assetItems) variantItems(want []string) []*record.Record {
	var out []*record.Record
	for _, v := range want {
		res, resUTI, ok := b.res.find(variantPrefix[v][b.kind()])
		if !ok {
			continue
		}
		out = append(out, b.item(itemID(b.p.asset.RecordName, v), variantName(b.name, v, resUTI), v, resUTI, res))
	}
	return out
}

// addLiveItems appends the live video of each variant that has one and
// links it with its photo both ways.
func (b *assetItems) addLiveItems(out []*record.Record, variants []string) []*record.Record {
	asset := b.p.asset.RecordName
	for _, v := range variants {
		res, resUTI, ok := b.res.find(livePrefix[v])
		if !ok {
			continue
		}
		liveID := itemID(asset, liveVariant(v))
		it := b.item(liveID, liveName(b.name, v), liveVariant(v), resUTI, res)
		it.Media = record.MediaVideo
		it.Meta["live_photo"] = itemID(asset, v)
		for _, photo := range out {
			if photo.ID == itemID(asset, v) {
				photo.Meta["live_video"] = liveID
			}
		}
		out = append(out, it)
	}
	return out
}

// linkRawPair points the two halves of a RAW+JPEG pair at each other.
func linkRawPair(out []*record.Record) {
	var orig, alt *record.Record
	for _, it := range out {
		switch it.Meta["variant"] {
		case "original":
			orig = it
		case "alternative":
			alt = it
		}
	}
	if orig != nil && alt != nil {
		orig.Meta["raw_pair"], alt.Meta["raw_pair"] = alt.ID, orig.ID
	}
}

func liveVariant(v string) string {
	if v == "original" {
		return "live"
	}
	return "live-" + v
}

// variantName names a variant's file after the original.
func variantName(name, v, uti string) string {
	ext := utiExt[uti]
	switch {
	case v == "original":
		return name
	case ext == "":
		ext = record.Ext(name)
	}
	if v == "alternative" && !equalFold(ext, record.Ext(name)) {
		return stem(name) + "." + ext
	}
	return stem(name) + "-" + v + "." + ext
}

// liveName is icloudpd's "suffix" policy: IMG_1.HEIC → IMG_1_HEVC.MOV.
func liveName(name, v string) string {
	suffix := ""
	if v != "original" {
		suffix = "-" + v
	}
	if equalFold(record.Ext(name), "HEIC") {
		return stem(name) + suffix + "_HEVC.MOV"
	}
	return stem(name) + suffix + ".MOV"
}

func equalFold(a, b string) bool {
	return len(a) == len(b) && record.Ext("x."+a) == record.Ext("x."+b)
}

// lister pages through one index with several workers.
type lister struct {
	src      *Source
	z        zone
	q        listQuery
	rules    itemRules
	sink     source.Sink
	location string
	opts     source.ListOptions

	mu      sync.Mutex
	next    int  // next rank to hand out
	count   int  // positions the server counts
	end     int  // first rank known to be past the end
	ended   bool // the end was seen
	probing bool // a page past the counted end is being fetched
	stopAt  int  // --since: ranks from here on are older (0: none)
	seen    map[string]bool
	// Empty pages inside the counted range, and the last page with assets:
	// an empty page before a full one is a gap in the listing.
	gaps     []int
	lastFull int
}

// run fetches pages concurrently. Each page is a separate startRank query,
// so pages are independent and safe to fetch in parallel; items are sent
// as each page arrives.
func (l *lister) run(ctx context.Context) error {
	count, err := l.src.count(ctx, l.z, l.q)
	if err != nil {
		return err
	}
	l.count = count
	if err := l.skipNewer(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := max(l.opts.Jobs, 1)
	errs := make(chan error, jobs)
	var wg sync.WaitGroup
	for range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.worker(ctx); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err, ok := <-errs; ok {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fault.Wrap(fault.Canceled, err)
	}
	for _, rank := range l.gaps {
		if rank < l.lastFull {
			err := fault.Errorf(fault.Transient, "iCloud returned an empty page at position %d of %d, and assets after it", rank, l.count)
			if err := l.sink.Failure(l.rangeRecord(rank), err); err != nil {
				return err
			}
		}
	}
	return nil
}

// dateOrdered says whether the index runs newest asset date first, so
// that --since and --until can skip pages.
func (l *lister) dateOrdered() bool { return l.q.countID != "CPLAssetDeletedByExpungedDate" }

// skipNewer finds, by bisection with one-position queries, where assets
// taken before --until begin, so a listing of last June does not page
// through everything newer first.
func (l *lister) skipNewer(ctx context.Context) error {
	if l.opts.Until.IsZero() || !l.dateOrdered() {
		return nil
	}
	lo, hi := 0, l.count // positions before lo are newer than --until
	for hi-lo > l.src.pageSize {
		mid := lo + (hi-lo)/2
		var resp queryResponse
		if err := l.src.ck.post(ctx, l.z.db, "records/query", true, l.q.body(l.z.name, mid, 2), &resp); err != nil {
			return err
		}
		pairs := pagePairs(&resp, mid)
		if len(pairs) == 0 {
			hi = mid
			continue
		}
		if t := pairs[0].asset.time("assetDate"); t.After(l.opts.Until) {
			lo = mid
		} else {
			hi = mid
		}
	}
	l.next = lo
	return nil
}

// take hands out the next page's start rank: -1 when done, -2 to wait.
// Pages inside the counted range go out freely; past it (the library grew
// since the count) one probe page at a time, until a short or empty page.
func (l *lister) take() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	rank := l.next
	switch {
	case l.ended && rank >= l.end, l.stopAt > 0 && rank >= l.stopAt:
		return -1
	case rank >= l.count && l.probing:
		return -2
	case rank >= l.count:
		l.probing = true
	}
	l.next += l.src.pageSize
	return rank
}

func (l *lister) doneProbe(rank int) {
	if rank >= l.count {
		l.mu.Lock()
		l.probing = false
		l.mu.Unlock()
	}
}

func (l *lister) worker(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		rank := l.take()
		if rank == -1 {
			return nil
		}
		if rank == -2 {
			// Wait for the probe ahead to say whether there is more.
			time.Sleep(5 * time.Millisecond)
			continue
		}
		err := l.page(ctx, rank)
		l.doneProbe(rank)
		if err != nil {
			return err
		}
	}
}

// page fetches and emits one page.
func (l *lister) page(ctx context.Context, rank int) error {
	P := l.src.pageSize
	var resp queryResponse
	for try := 1; ; try++ {
		resp = queryResponse{}
		if err := l.src.ck.post(ctx, l.z.db, "records/query", true, l.q.body(l.z.name, rank, 2*P), &resp); err != nil {
			if fault.ClassOf(err) == fault.Canceled || ctx.Err() != nil {
				return nil
			}
			if rank >= l.count {
				l.markEnd(rank) // a probe past the count failed: stop probing there
			}
			// A session or account problem fails every page alike: stop.
			if c := fault.ClassOf(err); c == fault.Auth || c == fault.Permanent {
				return err
			}
			return l.sink.Failure(l.rangeRecord(rank), err)
		}
		// Empty pages can be transient gaps (kei); look once more before
		// believing a page inside the counted range is empty.
		if countMasters(&resp) > 0 || rank >= l.count || try > 1 {
			break
		}
	}
	masters := countMasters(&resp)
	if masters == 0 {
		l.mu.Lock()
		defer l.mu.Unlock()
		if rank >= l.count {
			l.markEndLocked(rank)
		} else {
			// Inside the counted range: the end (if the count was stale)
			// or a gap (if later pages hold assets); run decides.
			l.gaps = append(l.gaps, rank)
		}
		return nil
	}
	l.mu.Lock()
	l.lastFull = max(l.lastFull, rank)
	l.mu.Unlock()
	pairs := pagePairs(&resp, rank)
	var oldest time.Time
	for _, p := range pairs {
		if !l.first(p.asset.RecordName) {
			continue
		}
		if t := p.asset.time("assetDate"); !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
		for _, it := range l.rules.items(p, l.z, l.location) {
			if err := l.sink.Item(it); err != nil {
				return err
			}
		}
	}
	if masters < P {
		l.markEnd(rank + P)
	}
	// The date indexes run newest first: once a page reaches past --since,
	// every later page is older still.
	if !l.opts.Since.IsZero() && !oldest.IsZero() && oldest.Before(l.opts.Since) && l.dateOrdered() {
		l.mu.Lock()
		if l.stopAt == 0 || rank+P < l.stopAt {
			l.stopAt = rank + P
		}
		l.mu.Unlock()
	}
	return nil
}

func (l *lister) first(asset string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen[asset] {
		return false
	}
	l.seen[asset] = true
	return true
}

func (l *lister) markEnd(rank int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.markEndLocked(rank)
}

func (l *lister) markEndLocked(rank int) {
	if !l.ended || rank < l.end {
		l.end, l.ended = rank, true
	}
}

func (l *lister) rangeRecord(rank int) *record.Record {
	rec := record.FolderFailure(l.location, fmt.Sprintf("rank %d-%d", rank, rank+l.src.pageSize-1))
	rec.Meta["rank"] = rank
	return rec
}

// --- Open's lookup of download URLs

// downloadURL finds a fresh download URL for an item: from the last
// lookup if it has one, else by querying the asset's page again.
func (s *Source) downloadURL(ctx context.Context, item *record.Record, force bool) (string, error) {
	if !force {
		s.mu.Lock()
		u, ok := s.urls[item.ID]
		delete(s.urls, item.ID)
		s.mu.Unlock()
		if ok && !urlExpired(u, time.Now()) {
			return u, nil
		}
	}
	rank, ok := metaInt(item.Meta["rank"])
	zname, _ := item.Meta["zone"].(string)
	db, _ := item.Meta["database"].(string)
	if db == "" {
		db = "private"
	}
	z := zone{db: db, name: zname}
	if !ok && zname != "" {
		// Listed by ps-list --changes-since: no position, so look the
		// asset up by name.
		return s.lookupURL(ctx, z, item)
	}
	if !ok || zname == "" {
		return "", fault.Errorf(fault.Permanent, "item %s has no iCloud position (meta.rank, meta.zone): list it again with ps-list", item.ID)
	}
	P := s.pageSize
	for _, start := range []int{max(rank-P/2, 0), rank + P/2, max(rank-3*P/2, 0), rank + 3*P/2} {
		if err := s.lookup(ctx, z, start, item.Source); err != nil {
			return "", err
		}
		s.mu.Lock()
		u, ok := s.urls[item.ID]
		delete(s.urls, item.ID)
		s.mu.Unlock()
		if ok {
			return u, nil
		}
	}
	return "", fault.Errorf(fault.NotFound, "%s (%s) is no longer in the iCloud library", item.BaseName(), item.ID)
}

// lookup queries one page and remembers the download URLs of its items.
// Concurrent Opens of neighbouring items share one query.
func (s *Source) lookup(ctx context.Context, z zone, start int, location string) error {
	_, err, _ := s.refresh.Do(fmt.Sprintf("%s/%s/%d", z.db, z.name, start), func() (any, error) {
		q, err := s.cachedQuery(ctx, z)
		if err != nil {
			return nil, err
		}
		var resp queryResponse
		if err := s.ck.post(ctx, z.db, "records/query", true, q.body(z.name, start, 2*s.pageSize), &resp); err != nil {
			return nil, err
		}
		found := map[string]string{}
		for _, p := range pagePairs(&resp, start) {
			for _, it := range allItems.items(p, z, location) {
				if u := resourceURL(p, it); u != "" {
					found[it.ID] = u
				}
			}
		}
		s.mu.Lock()
		if len(s.urls) > 20000 {
			clear(s.urls) // unused lookups of other variants; they expire anyway
		}
		for k, v := range found {
			s.urls[k] = v
		}
		s.mu.Unlock()
		return nil, nil
	})
	return err
}

// resourceURL is the download URL of the resource an item stands for.
func resourceURL(p pair, it *record.Record) string {
	v, _ := it.Meta["variant"].(string)
	kind := 0
	if isVideoUTI(p.master.str("itemType")) {
		kind = 1
	}
	prefix := ""
	switch v {
	case "live":
		prefix = livePrefix["original"]
	case "live-medium", "live-thumb":
		prefix = livePrefix[v[len("live-"):]]
	default:
		prefix = variantPrefix[v][kind]
	}
	if res, _, ok := p.asset.resource(prefix); ok {
		return res.DownloadURL
	}
	res, _, _ := p.master.resource(prefix)
	return res.DownloadURL
}

// urlExpired reads the URL's own expiry (the e parameter, Unix seconds),
// with a margin; URLs without one are tried.
func urlExpired(u string, now time.Time) bool {
	pu, err := url.Parse(u)
	if err != nil {
		return true
	}
	e, err := strconv.ParseInt(pu.Query().Get("e"), 10, 64)
	return err == nil && now.Add(30*time.Second).Unix() > e
}

func metaInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil
	}
	return 0, false
}

// cachedQuery resolves the location's index once per source (an album
// name costs an album listing).
func (s *Source) cachedQuery(ctx context.Context, z zone) (listQuery, error) {
	s.mu.Lock()
	q, ok := s.queries[z]
	s.mu.Unlock()
	if ok {
		return q, nil
	}
	q, err := s.query(ctx, z)
	if err != nil {
		return q, err
	}
	s.mu.Lock()
	s.queries[z] = q
	s.mu.Unlock()
	return q, nil
}
