// Package cv is the OpenCV implementation of liveness.Detector: it reads a
// selfie video, measures every sampled frame, runs the quality gate and the
// liveness analysis of package liveness, and picks the best faces for
// matching.
//
// One Detect call:
//
//  1. Ingest: the video is used in place when it has a local path
//     (liveness.Pather) or spooled to a private temp file, refusing more
//     than Config.MaxBytes before anything is decoded.
//  2. Probe: the container is sniffed (an HTML page or a playlist is
//     refused at once), then ffprobe lists the video packets (demuxing
//     only) for the exact frame count, timestamps and duration, even for
//     browser recordings without a duration header; limits give a
//     *liveness.InputError (video_too_short, video_too_long,
//     video_too_large, video_invalid).
//  3. Decode and measure, overlapped: one goroutine decodes every frame
//     (only the sampled ones are converted to BGR, into recycled buffers,
//     and turned upright from the display matrix); Config.DetectParallel
//     goroutines find the faces of successive sampled frames at once
//     (YuNet at a small input size, which also gives the whole-frame
//     thumbnail); the worker then measures each frame in order: exposure,
//     dynamic range, sharpness, glare and pose of the main face and an
//     aligned grey face crop, while another goroutine advances the
//     temporal analysis. The best frame of each part of the video is kept
//     and scored as soon as the video moves past that part.
//  4. Judge (package liveness, pure Go): the quality gate, the temporal
//     analysis (camera shake, face continuity, landmark parallax,
//     registered face change, mouth and eye activity) and the passive
//     anti-spoofing models (MiniFASNet V2 + V1SE) and replay cues on the
//     best frames, fused into a verdict with its evidence.
//  5. Probes: the best faces, cropped with their landmarks, for
//     facematch.
//
// Performance: see docs/bench/liveness.md. A Detector is safe for
// concurrent use; Config.Workers bounds how many videos are analysed at
// once.
package cv
