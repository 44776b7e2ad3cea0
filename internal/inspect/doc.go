// Package inspect draws the pictures an operator looks at to understand a
// decision on a selfie video: a contact sheet (sampled frames with face
// boxes, landmarks and per-frame quality values, the frames used for
// matching marked, the decision and its reasons in the header) and a
// timeline (luminance, sharpness, face size, motion, mouth activity and
// the anti-spoofing score over time, with the thresholds in force). It also
// turns the same trace into plain JSON.
//
// The input is a liveness/cv Trace with the liveness Result it came with
// and, when a reference photo was compared, the policy's Decision. Output
// is deterministic: the same trace gives the same pixels.
//
// Faces are shown as recorded; WithRedaction pixelates every face box (and
// whole frames in which no face was found) before anything is drawn, for
// pictures that leave the operator's screen (documentation, bug reports).
package inspect
