#pragma once

// RAII for GStreamer and GLib objects (STYLE: every C handle has an owner).

#include <gst/gst.h>

#include <memory>

namespace yardwatch::recorder {

struct GstObjectUnref {
  void operator()(gpointer object) const {
    if (object != nullptr) gst_object_unref(object);
  }
};
template <typename T>
using GstPtr = std::unique_ptr<T, GstObjectUnref>;

struct GstCapsUnref {
  void operator()(GstCaps* caps) const {
    if (caps != nullptr) gst_caps_unref(caps);
  }
};
using CapsPtr = std::unique_ptr<GstCaps, GstCapsUnref>;

struct GstMessageUnref {
  void operator()(GstMessage* message) const {
    if (message != nullptr) gst_message_unref(message);
  }
};
using MessagePtr = std::unique_ptr<GstMessage, GstMessageUnref>;

struct GstBufferUnref {
  void operator()(GstBuffer* buffer) const {
    if (buffer != nullptr) gst_buffer_unref(buffer);
  }
};
using BufferPtr = std::unique_ptr<GstBuffer, GstBufferUnref>;

struct GstSampleUnref {
  void operator()(GstSample* sample) const {
    if (sample != nullptr) gst_sample_unref(sample);
  }
};
using SamplePtr = std::unique_ptr<GstSample, GstSampleUnref>;

struct GErrorFree {
  void operator()(GError* error) const {
    if (error != nullptr) g_error_free(error);
  }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GFree {
  void operator()(gpointer data) const { g_free(data); }
};
using GCharPtr = std::unique_ptr<gchar, GFree>;

// Any other C handle whose free function takes the pointer (its return value, if any, is of no
// use at that point).
template <typename T, auto Free>
struct CFree {
  void operator()(T* handle) const {
    if (handle != nullptr) (void)Free(handle);
  }
};
template <typename T, auto Free>
using CPtr = std::unique_ptr<T, CFree<T, Free>>;

}  // namespace yardwatch::recorder
