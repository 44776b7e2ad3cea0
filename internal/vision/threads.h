// Bridge to OpenCV's process-wide thread setting (gocv v0.31 has none).
#ifndef HOVIYAT_VISION_THREADS_H
#define HOVIYAT_VISION_THREADS_H
#ifdef __cplusplus
extern "C" {
#endif
void hoviyat_cv_set_num_threads(int n);
int hoviyat_cv_get_num_threads(void);
#ifdef __cplusplus
}
#endif
#endif
