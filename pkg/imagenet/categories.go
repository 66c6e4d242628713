package imagenet

import (
	_ "embed"
	"strings"
)

// categories.txt is mmpretrain's IMAGENET_CATEGORIES
// (mmpretrain/datasets/categories.py), one class per line in label order;
// it equals the shared fixtures' imagenet/meta/classes.txt.
//
//go:embed categories.txt
var categoriesTxt string

// ImageNetCategories returns mmpretrain's IMAGENET_CATEGORIES: the 1000
// ImageNet-1k class names indexed by label. The slice is new on each call.
func ImageNetCategories() []string {
	return strings.Split(strings.TrimSuffix(categoriesTxt, "\n"), "\n")
}
