// Package imagenet reproduces the input side of mmpretrain's MobileOne tools:
// image decoding into OpenCV's BGR layout, the test/train preprocessing
// pipeline (Pillow's antialiased bilinear resize, mmcv's CenterCrop, mmpretrain's
// ResizeEdge and RandomResizedCrop) bit for bit, the ClsDataPreprocessor
// normalization, ImageNet/CustomDataset listing and a streaming batch loader.
//
// Numerics follow §3 of the mmpretrain spec (shared/spec/mmpretrain-mobileone.md):
//
//   - Decode gives what cv2.imdecode(buf, IMREAD_COLOR) gives: uint8 HWC BGR,
//     grayscale replicated, alpha dropped (not composited), 16-bit samples
//     reduced with value>>8, palettes expanded.
//   - Resizer is Pillow's ImagingResample for 8-bit images: 22-bit fixed-point
//     coefficients, horizontal pass first on the needed rows only, uint8
//     intermediate.
//   - ResizeEdgeSize truncates like Python int(); CenterCropRect rounds half to
//     even like Python 3 round().
//   - Normalizer divides (true division, float32) after the BGR->RGB flip.
//
// JPEG files are decoded by pkg/imagenet/jpeg (libjpeg-turbo's results
// exactly, EXIF orientation applied); apart from it the package depends on
// no other package of this module.
package imagenet
