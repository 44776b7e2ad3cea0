#include <opencv2/core.hpp>

#include "threads.h"

void hoviyat_cv_set_num_threads(int n) { cv::setNumThreads(n); }

int hoviyat_cv_get_num_threads(void) { return cv::getNumThreads(); }
