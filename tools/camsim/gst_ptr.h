#pragma once

// RAII for the GLib, GStreamer and gst-rtsp-server handles camsim holds (STYLE: every C handle
// has an owner). recorder/src/gst_ptr.h is private to the recorder, and camsim needs a few more
// kinds (pipelines that must reach NULL before the last unref, buffers, clock ids, tokens).

#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <memory>

namespace yardwatch::camsim {

// Any GObject, including GstObjects and the gst-rtsp-server classes (which are plain GObjects).
struct GObjectUnref {
  void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

// Adds a reference that the returned pointer owns.
template <typename T>
GObjectPtr<T> add_ref(T* object) {
  return GObjectPtr<T>(static_cast<T*>(g_object_ref(object)));
}

// A top-level pipeline: it must be stopped before its last reference goes, or its streaming
// threads outlive it.
struct PipelineStopAndUnref {
  void operator()(GstElement* pipeline) const {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
};
using PipelinePtr = std::unique_ptr<GstElement, PipelineStopAndUnref>;

struct GstBufferUnref {
  void operator()(GstBuffer* buffer) const { gst_buffer_unref(buffer); }
};
using BufferPtr = std::unique_ptr<GstBuffer, GstBufferUnref>;

struct GstCapsUnref {
  void operator()(GstCaps* caps) const { gst_caps_unref(caps); }
};
using CapsPtr = std::unique_ptr<GstCaps, GstCapsUnref>;

struct GstSampleUnref {
  void operator()(GstSample* sample) const { gst_sample_unref(sample); }
};
using SamplePtr = std::unique_ptr<GstSample, GstSampleUnref>;

struct GstMessageUnref {
  void operator()(GstMessage* message) const { gst_message_unref(message); }
};
using MessagePtr = std::unique_ptr<GstMessage, GstMessageUnref>;

struct GstClockIdUnref {
  void operator()(GstClockID id) const { gst_clock_id_unref(id); }
};
using ClockIdPtr = std::unique_ptr<void, GstClockIdUnref>;

struct GstRtspTokenUnref {
  void operator()(GstRTSPToken* token) const { gst_rtsp_token_unref(token); }
};
using RtspTokenPtr = std::unique_ptr<GstRTSPToken, GstRtspTokenUnref>;

struct GErrorFree {
  void operator()(GError* error) const { g_error_free(error); }
};
using GErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GFree {
  void operator()(gpointer data) const { g_free(data); }
};
using GCharPtr = std::unique_ptr<gchar, GFree>;

struct GMainLoopUnref {
  void operator()(GMainLoop* loop) const { g_main_loop_unref(loop); }
};
using MainLoopPtr = std::unique_ptr<GMainLoop, GMainLoopUnref>;

struct GSourceDestroyAndUnref {
  void operator()(GSource* source) const {
    g_source_destroy(source);
    g_source_unref(source);
  }
};
using SourcePtr = std::unique_ptr<GSource, GSourceDestroyAndUnref>;

// g_list_free_full(list, g_object_unref) for the lists that *_filter() functions return.
struct GObjectListFree {
  void operator()(GList* list) const { g_list_free_full(list, g_object_unref); }
};
using GObjectListPtr = std::unique_ptr<GList, GObjectListFree>;

}  // namespace yardwatch::camsim
