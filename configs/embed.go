// Package configs embeds the MobileOne config tree, laid out as in
// mmpretrain's configs/ folder:
//
//	mobileone/mobileone-s{0..4}_8xb32_in1k.py
//	mobileone/deploy/mobileone-s{0..4}_deploy_8xb32_in1k.py
//	_base_/models/mobileone/mobileone_s{0..4}.py
//	_base_/datasets/imagenet_bs32_pil_resize.py
//	_base_/schedules/imagenet_bs256_coslr_coswd_300e.py
//	_base_/default_runtime.py
//
// The files are Python, in mmengine's config dialect; package
// github.com/mobileone-go/mobileone/pkg/config evaluates them. Paths in FS
// are relative to this folder ("mobileone/mobileone-s0_8xb32_in1k.py").
package configs

import "embed"

// FS holds the config tree. The "all:" prefix keeps the _base_ folder,
// which a plain directory pattern would skip because of its leading "_".
//
//go:embed all:mobileone all:_base_
var FS embed.FS
