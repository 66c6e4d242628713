// Package jpeg decodes JPEG files to exactly the pixels OpenCV returns.
//
// mmpretrain reads images with cv2.imdecode(buf, cv2.IMREAD_COLOR), which
// runs libjpeg-turbo with its defaults: the accurate integer inverse DCT
// (jidctint, "ISLOW"), "fancy" triangle-filter chroma upsampling, and the
// JFIF YCbCr->RGB conversion done with libjpeg's 16-bit fixed-point tables.
// Go's image/jpeg differs from that by a few levels on many pixels, so this
// package re-implements the decoding path from ITU T.81 and libjpeg's
// documented algorithms, to return the same bytes:
//
//   - baseline, extended and progressive Huffman files (SOF0/1/2), and
//     arithmetic-coded sequential and progressive files (SOF9/10);
//   - restart markers, including libjpeg's resynchronisation rules;
//   - any integral sampling factors (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1...),
//     with libjpeg-turbo 2.1's choice of upsampler per component;
//   - grayscale (replicated to 3 channels), RGB (Adobe transform 0 or
//     component ids 'R','G','B'), CMYK and YCCK (converted to BGR with
//     OpenCV's own CMYK formula);
//   - the EXIF orientation tag, read and applied the way OpenCV 4.6 does;
//   - damaged files the way OpenCV does: corrupt entropy data is decoded
//     with libjpeg's recovery rules (zero bits after a marker, gray blocks
//     for the rest of the segment); a single-scan file cut short gives a
//     full-size image whose missing rows repeat the last row libjpeg
//     delivered; a multi-scan (progressive) file cut short, or any error
//     libjpeg treats as fatal, gives an error.
//
// 12-bit and lossless files are refused with an UnsupportedError, as
// libjpeg-turbo 2.1 (and so OpenCV 4.6) refuses them.
package jpeg
