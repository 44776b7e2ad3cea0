#include <opencv2/dnn.hpp>

#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "forward.h"

struct hoviyat_net_outputs {
    std::vector<cv::String> names;
    std::vector<cv::Mat> outs;
};

hoviyat_net_outputs *hoviyat_net_outputs_new(const char *const *names, int n) {
    hoviyat_net_outputs *o = new (std::nothrow) hoviyat_net_outputs;
    if (o == nullptr) {
        return nullptr;
    }
    try {
        o->names.reserve(n);
        for (int i = 0; i < n; i++) {
            o->names.emplace_back(names[i]);
        }
    } catch (...) {
        delete o;
        return nullptr;
    }
    return o;
}

void hoviyat_net_outputs_free(hoviyat_net_outputs *o) { delete o; }

static int fail(char *err, size_t errlen, const char *msg) {
    if (errlen > 0) {
        std::snprintf(err, errlen, "%s", msg);
    }
    return -1;
}

int hoviyat_net_forward(void *net, hoviyat_net_outputs *o, const float **data, size_t *len, char *err,
                        size_t errlen) {
    try {
        // The Mats of o->outs are kept: forward copies each output into
        // the Mat already there (no new allocation when its size is the
        // same as last time).
        static_cast<cv::dnn::Net *>(net)->forward(o->outs, o->names);
        if (o->outs.size() != o->names.size()) {
            return fail(err, errlen, "network returned a different number of outputs than asked");
        }
        for (size_t i = 0; i < o->outs.size(); i++) {
            const cv::Mat &m = o->outs[i];
            if (m.depth() != CV_32F || !m.isContinuous()) {
                std::string msg = "output " + o->names[i] + " is not a continuous float32 Mat";
                return fail(err, errlen, msg.c_str());
            }
            data[i] = m.ptr<float>();
            len[i] = m.total() * (size_t)m.channels();
        }
        return 0;
    } catch (const std::exception &e) {
        return fail(err, errlen, e.what());
    } catch (...) {
        return fail(err, errlen, "unknown C++ exception");
    }
}
