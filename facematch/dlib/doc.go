// Package dlib is a facematch.Matcher over github.com/Kagami/go-face, which
// runs dlib's ResNet face recognition model (128-d descriptors, 99.38% on
// LFW as published by dlib).
//
// # Models
//
// go-face loads three files from one directory, given by Config.ModelsDir
// or the HOVIYAT_DLIB_MODELS environment variable:
//
//	shape_predictor_5_face_landmarks.dat     5-point landmarks for alignment
//	dlib_face_recognition_resnet_model_v1.dat the descriptor network
//	mmod_human_face_detector.dat             CNN face detector (Config.CNN)
//
// They are not shipped with Hoviyat and were not available where it was
// developed, so this backend is built and unit-tested but its thresholds
// are dlib's published defaults, not calibrated on our data. Get the files
// from dlib's model site, http://dlib.net/files/ (each is a .bz2 to
// decompress: shape_predictor_5_face_landmarks.dat.bz2,
// dlib_face_recognition_resnet_model_v1.dat.bz2,
// mmod_human_face_detector.dat.bz2; Boost Software Licence, the ResNet
// trained on public face data sets), or from go-face's test data
// repository, https://github.com/Kagami/go-face-testdata (models/). Then
// run this package's tests with HOVIYAT_DLIB_MODELS set, and calibrate the
// thresholds with facematch/onnx/calib (Matcher implements calib.Scorer).
// Do not use Debian's shape_predictor_68_face_landmarks.dat: its training
// data forbids commercial use, and go-face expects the 5-point model.
//
// # How it compares
//
// go-face detects faces itself (dlib's HOG detector, or the CNN detector
// with Config.CNN) and aligns them with its own landmarks, so a probe's
// landmarks are only used to skip strongly non-frontal probes; the probe
// image is re-encoded as JPEG (go-face reads only JPEG) and the detected
// face that best overlaps Probe.Box is described. Probes where dlib finds
// no face are skipped. The reference photo is decoded with its EXIF
// orientation applied and its subject chosen with facematch.MainFace.
// Similarity is 1 - Euclidean distance between descriptors, so dlib's
// usual "same person below 0.6" is a similarity of 0.4.
//
// # Concurrency
//
// A Matcher is safe for concurrent use. go-face serialises the network
// internally; Config.Workers bounds how many comparisons run at once
// (backpressure). Close is idempotent.
package dlib
