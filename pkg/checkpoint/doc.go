// Package checkpoint reads and writes PyTorch .pth checkpoints the way
// torch.save / torch.load and mmengine/mmpretrain use them, without Python.
//
// Reading (Load, LoadBytes) accepts the zip format (torch >= 1.6 default) and
// the legacy non-zip format (_use_new_zipfile_serialization=False, used by the
// mmcls 0.x / rc-era publish scripts). The pickle is decoded with gopickle's
// Unpickler driven by this package's own container loaders, which:
//
//   - sniff the file type first (empty, all-zero, tar, HTML, Git LFS pointer
//     and other non-checkpoint inputs are rejected with a clear error instead
//     of hanging or panicking inside gopickle);
//   - validate every pickle with an opcode scanner before unpickling (unknown
//     opcodes, truncated arguments, oversized frames, huge integers, deep MARK
//     nesting and allocation bombs are rejected);
//   - check every storage record: its length must equal numel*elemsize (checked
//     before anything is allocated), its CRC-32 is verified (zip), and deflated
//     records are supported;
//   - recover panics from the decoder and report them as FormatError;
//   - decode unknown Python classes (numpy arrays, mmengine HistoryBuffer,
//     argparse.Namespace, torch.device, ...) into opaque *Object values, so
//     that training checkpoints with message_hub etc. load.
//
// A checkpoint's top-level object is returned as plain Go values: *Dict
// (ordered; also used for OrderedDict), List, Tuple, Set, string, int64,
// *big.Int, float64, bool, nil, []byte, *Tensor and *Object.
//
// Tensors are always materialised contiguous (C order): offsets, strides
// (including transposed, channels_last and expanded views) and storages
// shared by several tensors are resolved at load time. Float storages
// (float32/float16/bfloat16/float64) are converted to float32 (float64 is also
// kept exactly), integer and bool storages to int64; Tensor.DType keeps the
// original dtype so that a re-save writes the same dtype.
//
// Writing (Save, Marshal) produces the zip format exactly as torch.save does
// it, restricted to what torch.load(weights_only=True) accepts: pickle
// protocol 2, globals collections.OrderedDict, torch._utils._rebuild_tensor_v2
// and torch.<Type>Storage only, 64-byte aligned STORED records, version "3\n",
// no timestamps (deterministic bytes) and an atomic rename.
//
// Plain pickles (MarshalPickle, LoadPickle, UnmarshalPickle) are the
// results files of mmpretrain's tools/test.py --out, written by
// mmengine.dump: tensors in them pickle themselves as pickle.dumps(tensor)
// does, each over a storage embedded as a legacy torch.save
// (torch.storage._load_from_bytes), read and written here.
//
// StateDict, EMAStateDict, Classes and Meta interpret mmpretrain/mmengine
// checkpoints (see the MobileOne spec §6); Apply loads a state dict into a
// model strictly, like torch's load_state_dict(strict=True); Resolve downloads
// URL checkpoints into the torch hub cache.
package checkpoint
