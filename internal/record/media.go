package record

// mediaByExt maps upper-case extensions to media kinds. Camera RAW formats
// come from the common manufacturers; anything unknown is "other".
var mediaByExt = map[string]string{}

func init() {
	add := func(kind string, exts ...string) {
		for _, e := range exts {
			mediaByExt[e] = kind
		}
	}
	add(MediaRaw, "CR3", "CR2", "CRW", "NEF", "NRW", "ARW", "SRF", "SR2", "DNG", "RAF", "ORF",
		"RW2", "RWL", "PEF", "SRW", "X3F", "3FR", "FFF", "IIQ", "MEF", "MOS", "ERF", "KDC", "DCR", "GPR")
	add(MediaPhoto, "JPG", "JPEG", "JPE", "HEIC", "HEIF", "HIF", "PNG", "GIF", "TIF", "TIFF", "WEBP",
		"AVIF", "BMP", "JXL", "PSD")
	add(MediaVideo, "MOV", "MP4", "M4V", "AVI", "MTS", "M2TS", "MKV", "3GP", "WEBM", "MPG", "MPEG", "WMV", "CRM")
	add(MediaSidecar, "XMP", "AAE", "THM", "JSON")
}

// MediaOf classifies a file name by its extension.
func MediaOf(name string) string {
	if kind, ok := mediaByExt[Ext(name)]; ok {
		return kind
	}
	return MediaOther
}

// ValidMedia reports whether kind is one of the media kinds.
func ValidMedia(kind string) bool {
	switch kind {
	case MediaRaw, MediaPhoto, MediaVideo, MediaSidecar, MediaOther:
		return true
	}
	return false
}
