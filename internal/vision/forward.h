// Leak-free multi-output forward pass for OpenCV DNN networks loaded by
// gocv (gocv v0.31's Net_ForwardLayers leaks its name strings and Mat
// array on every call).
#ifndef HOVIYAT_VISION_FORWARD_H
#define HOVIYAT_VISION_FORWARD_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
// Output names and the output Mats, reused by every forward pass.
typedef struct hoviyat_net_outputs hoviyat_net_outputs;
// Copies the n names; NULL when out of memory.
hoviyat_net_outputs *hoviyat_net_outputs_new(const char *const *names, int n);
void hoviyat_net_outputs_free(hoviyat_net_outputs *o);
// Runs net (a cv::dnn::Net*) forward to o's outputs. On success returns 0
// and sets data[i] and len[i] (float count) for each of the n outputs:
// continuous CV_32F buffers owned by o, valid until the next call or
// hoviyat_net_outputs_free. On failure returns -1 with a message in err.
int hoviyat_net_forward(void *net, hoviyat_net_outputs *o, const float **data, size_t *len, char *err,
                        size_t errlen);
#ifdef __cplusplus
}
#endif
#endif
