// Package onnx is a facematch.Matcher over an ArcFace-family ONNX face
// embedder run by OpenCV DNN (gocv), with YuNet finding the face in the
// reference photo.
//
// # Flow of Compare
//
//  1. Probe selection: probes arrive best first (the liveness detector
//     ranks them by quality). Those without an image or landmarks are
//     dropped, strongly non-frontal ones (yaw beyond MaxYaw or pitch
//     beyond MaxPitch, from the landmarks) are skipped, and the first
//     MaxProbes are kept. If none is frontal enough, the most frontal ones
//     are used rather than none.
//  2. Reference: the photo is decoded with its EXIF orientation applied,
//     faces are detected, and the subject is chosen: detections under
//     ReferenceMinScore are ignored, each remaining face weighs its area
//     times a centrality factor (1 at the centre, 0.5 at a corner), and
//     the heaviest is the subject, unless another face weighs at least 60%
//     of it (a group photo) or the subject is too small or turned, in which
//     case the photo is unusable (facematch.ErrReferenceUnusable). The
//     template is cached by Reference.Key in a bounded LRU.
//  3. Each selected probe is aligned on its 5 landmarks with a similarity
//     transform onto the Spec's template, pre-processed as the Spec says,
//     embedded and compared with the reference by cosine.
//  4. The similarities are fused (mean of the TopK best) and mapped to a
//     Decision by two thresholds: Match at or above Thresholds.Match,
//     Uncertain (manual review) down to Thresholds.ReviewFloor, NonMatch
//     below.
//
// # Models
//
// The pre-processing is configuration (Spec). MobileFaceNetSpec fits the
// provided mobilefacenet_foamliu_opset10.onnx and is the default; its
// thresholds were calibrated on the shared media (docs/bench/facematch.md,
// reproduced by facematch/onnx/calib). SFaceSpec fits OpenCV Zoo's
// face_recognition_sface_2021dec.onnx (not provided here: calibrate its
// thresholds before use). Model files are checked before OpenCV loads
// them (vision.CheckModel), because OpenCV aborts the whole process on a
// malformed model or on a Spec that does not fit the network; New runs
// one embedding per worker so that a wrong Spec fails at start-up.
//
// # Concurrency
//
// A Matcher is safe for concurrent use. Its Workers each own a detector
// and an embedder network (gocv objects are not goroutine safe); a call
// waits for a free worker or for its context, which gives backpressure.
// A cgo call cannot be interrupted: the context is checked between
// probes. Close waits for calls in flight, then frees the networks.
package onnx
