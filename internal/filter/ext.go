package filter

import "strings"

// extAliases are the spellings of one format's extension; --ext with any
// of them keeps them all, as a person asking for JPGs means .jpeg too.
var extAliases = [][]string{
	{"JPG", "JPEG", "JPE"},
	{"TIF", "TIFF"},
	{"HEIC", "HEIF", "HIF"},
	{"MPG", "MPEG"},
	{"MOV", "QT"},
}

// ExtSet turns --ext values (any case, with or without the dot) into the
// set Criteria.Exts wants: upper case, with every alias of each format.
func ExtSet(exts []string) map[string]bool {
	if len(exts) == 0 {
		return nil
	}
	set := map[string]bool{}
	for _, e := range exts {
		e = strings.ToUpper(strings.TrimPrefix(strings.TrimSpace(e), "."))
		set[e] = true
		for _, group := range extAliases {
			for _, a := range group {
				if a == e {
					for _, b := range group {
						set[b] = true
					}
				}
			}
		}
	}
	return set
}
