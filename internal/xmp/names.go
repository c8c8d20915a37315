package xmp

import "strings"

// knownPerImage are settings that belong to one shot whatever the data
// says: exposure and white balance, geometry, local corrections and the
// bookkeeping Camera Raw keeps per file.
var knownPerImage = map[string]bool{
	"Exposure": true, "Exposure2012": true,
	"Temperature": true, "Tint": true, "WhiteBalance": true,
	"HasCrop": true, "CropTop": true, "CropLeft": true, "CropBottom": true, "CropRight": true,
	"CropAngle": true, "CropWidth": true, "CropHeight": true, "CropUnits": true,
	"CropConstrainToWarp": true, "CropConstrainToUnitSquare": true,
	"MaskGroupBasedCorrections": true, "GradientBasedCorrections": true,
	"CircularGradientBasedCorrections": true, "PaintBasedCorrections": true,
	"RetouchInfo": true, "RetouchAreas": true, "RedEyeInfo": true, "RangeMaskMapInfo": true,
	"GrainSeed": true, "RawFileName": true, "AlreadyApplied": true,
	"AutoToneDigest": true, "AutoToneDigestNoSat": true,
	"PerspectiveVertical": true, "PerspectiveHorizontal": true, "PerspectiveRotate": true,
	"PerspectiveScale": true, "PerspectiveAspect": true, "PerspectiveX": true, "PerspectiveY": true,
	"PerspectiveUpright": true,
	"LensProfileName":    true, "LensProfileFilename": true, "LensProfileDigest": true,
	"LensProfileIsEmbedded": true,
}

// perImagePrefixes catch the families of upright and transform values
// (UprightTransform_0 …, UprightFourSegments_1 …).
var perImagePrefixes = []string{"Upright", "Crop"}

// IsKnownPerImage reports whether a setting is always per-image.
func IsKnownPerImage(name string) bool {
	if knownPerImage[name] {
		return true
	}
	for _, p := range perImagePrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// neverWritten are settings that describe the file they were read from and
// would be wrong, or harmful, in a RAW's sidecar: AlreadyApplied="True"
// tells Lightroom the settings are baked into the pixels and must not be
// applied again.
var neverWritten = map[string]bool{
	"AlreadyApplied": true, "RawFileName": true,
}

// boundToShot are per-image settings that only make sense for the exact
// frame they were made on (geometry, masks, retouching, the lens profile of
// the lens used). They are copied to a matched RAW but never estimated for
// another one.
func boundToShot(name string) bool {
	switch name {
	case "Exposure", "Exposure2012", "Temperature", "Tint", "WhiteBalance":
		return false
	}
	return IsKnownPerImage(name)
}

// Namespace is the Camera Raw settings namespace.
const Namespace = "http://ns.adobe.com/camera-raw-settings/1.0/"
