#include "camera_server.h"

#include <gst/app/gstappsrc.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <exception>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "gst_ptr.h"

namespace yardwatch::camsim {

namespace {

// How much a media's appsrc may queue behind a stalled client before it drops the oldest frames
// instead of growing without bound. (Between DESCRIBE and PLAY nothing queues: the pusher holds a
// feed whose stream is blocked.)
constexpr GstClockTime kMaxQueuedTime = 2 * GST_SECOND;
// Client threads per camera. gst-rtsp-server's default is one thread for all clients, and a
// DESCRIBE blocks its thread until the media has prerolled (up to a GOP, waiting for a keyframe):
// eight clients connecting at once were answered one after the other, the last after 9.7 s.
// With a thread per client they are answered in parallel; idle threads cost no CPU.
constexpr int kClientThreadsPerCamera = 4;

// The serving half. The parser re-derives the caps the payloader wants. Payloader
// config-interval=0: every keyframe of the clip already carries its parameter sets in-band
// (encode_clip checks), and with -1 rtph264pay inserts another copy before every IDR *slice*,
// which only duplicates them and, for a multi-slice picture, makes receivers such as ffmpeg split
// the keyframe into two access units.
std::string launch_description(Codec codec) {
  switch (codec) {
    case Codec::kH264:
      return "( appsrc name=src is-live=true format=time ! h264parse"
             " ! rtph264pay name=pay0 pt=96 config-interval=0 )";
    case Codec::kH265:
      return "( appsrc name=src is-live=true format=time ! h265parse"
             " ! rtph265pay name=pay0 pt=96 config-interval=0 )";
    case Codec::kJpeg:
      return "( appsrc name=src is-live=true format=time ! rtpjpegpay name=pay0 pt=26 )";
  }
  return {};
}

// The role every authenticated user gets; the factories grant it access.
constexpr const char* kViewerRole = "viewer";

// One prepared media of one camera: what the pusher feeds. Created in "media-configure", dropped
// when the media is unprepared (its last client left, or the camera went offline).
struct Feed {
  GObjectPtr<GstRTSPMedia> media;
  GObjectPtr<GstElement> appsrc;
  GObjectPtr<GstRTSPStream> stream;  // the media's one stream, to see whether it is blocked
  gulong unprepared_handler = 0;

  // Touched only by the pusher thread.
  bool started = false;  // false until the first keyframe has gone in
  GstClockTime first_pts = 0;
  uint64_t frames_pushed = 0;
  size_t next_index = 0;  // the clip frame this feed sends next

  Feed() = default;
  Feed(const Feed&) = delete;
  Feed& operator=(const Feed&) = delete;
  ~Feed() {
    if (unprepared_handler != 0 && g_signal_handler_is_connected(media.get(), unprepared_handler)) {
      g_signal_handler_disconnect(media.get(), unprepared_handler);
    }
  }
};

struct Camera {
  std::mutex* mutex = nullptr;  // the server's; guards `online` and `feeds`
  std::string name;             // "cam1"
  std::string path;             // "/cam1"
  Codec codec = Codec::kH264;
  const Clip* clip = nullptr;  // set by start(), before any client can connect
  // Where in the clip this camera is at tick 0. Spreading the phases over a GOP keeps the cameras
  // from all sending their (large) keyframes in the same instant, which real cameras rarely do.
  uint64_t phase = 0;
  GObjectPtr<GstRTSPMediaFactory> factory;
  gulong configure_handler = 0;

  bool online = true;
  std::vector<std::shared_ptr<Feed>> feeds;
};

}  // namespace

struct CameraServer::State {
  std::map<Codec, Clip> clips;
  uint32_t fps = 25;
  GObjectPtr<GstRTSPServer> server;
  GObjectPtr<GstRTSPMountPoints> mounts;
  GObjectPtr<GstRTSPAuth> auth;
  SourcePtr listen_source;
  std::vector<std::unique_ptr<Camera>> cameras;
  mutable std::mutex mutex;

  // The pusher ticks on the GStreamer system clock: the same clock the media pipelines run on,
  // so the timestamps it writes line up with their running time.
  GObjectPtr<GstClock> clock;
  ClockIdPtr tick;
  std::atomic<bool> stopping{false};
  std::thread pusher;

  ~State();
  void run_pusher();
  void push_frame(const Camera& camera, Feed& feed, uint64_t tick_index) const;
  void stop_pusher();
  void disconnect_clients(std::set<GstRTSPMedia*>& medias) const;
  void unprepare(Camera& camera) const;
};

namespace {

void on_media_unprepared(GstRTSPMedia* media, gpointer user_data) {
  auto* camera = static_cast<Camera*>(user_data);
  std::shared_ptr<Feed> removed;  // released after the lock, outside the critical section
  std::lock_guard lock(*camera->mutex);
  auto it = std::find_if(camera->feeds.begin(), camera->feeds.end(),
                         [media](const auto& feed) { return feed->media.get() == media; });
  if (it != camera->feeds.end()) {
    removed = std::move(*it);
    camera->feeds.erase(it);
  }
}

void on_media_configure(GstRTSPMediaFactory* /*factory*/, GstRTSPMedia* media, gpointer user_data) {
  auto* camera = static_cast<Camera*>(user_data);
  GObjectPtr<GstElement> bin(gst_rtsp_media_get_element(media));
  GObjectPtr<GstElement> appsrc(gst_bin_get_by_name(GST_BIN(bin.get()), "src"));
  if (!appsrc) {
    g_printerr("yardwatch-camsim: %s: media has no appsrc\n", camera->name.c_str());
    return;
  }
  auto* source = GST_APP_SRC(appsrc.get());
  gst_app_src_set_caps(source, camera->clip->caps.get());
  gst_app_src_set_max_bytes(source, 0);
  gst_app_src_set_max_buffers(source, 0);
  gst_app_src_set_max_time(source, kMaxQueuedTime);
  gst_app_src_set_leaky_type(source, GST_APP_LEAKY_TYPE_DOWNSTREAM);

  auto feed = std::make_shared<Feed>();
  feed->media = add_ref(media);
  feed->appsrc = std::move(appsrc);
  if (GstRTSPStream* stream = gst_rtsp_media_get_stream(media, 0); stream != nullptr) {
    feed->stream = add_ref(stream);
  }
  feed->unprepared_handler =
      g_signal_connect(media, "unprepared", G_CALLBACK(on_media_unprepared), camera);
  std::lock_guard lock(*camera->mutex);
  camera->feeds.push_back(std::move(feed));
}

// The running time of the element's pipeline, or nullopt while it is not PLAYING (its base time
// is meaningless then).
std::optional<GstClockTime> running_time(GstElement* element) {
  GstState current = GST_STATE_NULL;
  if (gst_element_get_state(element, &current, nullptr, 0) == GST_STATE_CHANGE_FAILURE ||
      current != GST_STATE_PLAYING) {
    return std::nullopt;
  }
  GObjectPtr<GstClock> clock(gst_element_get_clock(element));
  if (!clock) return std::nullopt;
  const GstClockTime now = gst_clock_get_time(clock.get());
  const GstClockTime base = gst_element_get_base_time(element);
  return now > base ? now - base : 0;
}

bool session_uses_any(GstRTSPSession* session, const std::set<GstRTSPMedia*>& medias) {
  GObjectListPtr session_medias(gst_rtsp_session_filter(session, nullptr, nullptr));
  for (GList* item = session_medias.get(); item != nullptr; item = item->next) {
    auto* session_media = static_cast<GstRTSPSessionMedia*>(item->data);
    if (medias.count(gst_rtsp_session_media_get_media(session_media)) != 0) return true;
  }
  return false;
}

GstRTSPFilterResult remove_sessions_using(GstRTSPSessionPool* /*pool*/, GstRTSPSession* session,
                                          gpointer user_data) {
  const auto& medias = *static_cast<const std::set<GstRTSPMedia*>*>(user_data);
  return session_uses_any(session, medias) ? GST_RTSP_FILTER_REMOVE : GST_RTSP_FILTER_KEEP;
}

GstRTSPFilterResult remove_all_sessions(GstRTSPSessionPool* /*pool*/, GstRTSPSession* /*session*/,
                                        gpointer /*user_data*/) {
  return GST_RTSP_FILTER_REMOVE;
}

}  // namespace

void CameraServer::State::run_pusher() {
  uint64_t tick_index = 0;
  std::vector<std::pair<const Camera*, std::shared_ptr<Feed>>> active;
  while (!stopping) {
    // Returns at once for ticks already past, so a pusher that fell behind catches up instead of
    // slowing the cameras' frame rate down.
    if (gst_clock_id_wait(tick.get(), nullptr) == GST_CLOCK_UNSCHEDULED) break;
    // Snapshot under the lock, push outside it: pushing only queues in the appsrc, but the
    // unprepared handler must never wait for a whole round of pushes.
    active.clear();
    {
      std::lock_guard lock(mutex);
      for (const auto& camera : cameras) {
        if (!camera->online) continue;
        for (const auto& feed : camera->feeds) active.emplace_back(camera.get(), feed);
      }
    }
    for (auto& [camera, feed] : active) push_frame(*camera, *feed, tick_index);
    ++tick_index;
  }
  active.clear();
}

void CameraServer::State::push_frame(const Camera& camera, Feed& feed, uint64_t tick_index) const {
  const Clip& clip = *camera.clip;
  if (!feed.started) {
    // A client must be able to decode from its first frame, so a feed starts at the camera's next
    // keyframe, and only once the media pipeline is running so its running time is known.
    const size_t index = static_cast<size_t>((tick_index + camera.phase) % clip.frame_count());
    if (!clip.is_keyframe(index)) return;
    const std::optional<GstClockTime> now = running_time(feed.appsrc.get());
    if (!now) return;
    feed.started = true;
    feed.first_pts = *now;
    feed.frames_pushed = 0;
    feed.next_index = index;
  } else if (feed.stream && gst_rtsp_stream_is_blocking(feed.stream.get())) {
    // The first keyframe prerolled the media and waits at its blocked stream until a client sends
    // PLAY. Frames pushed meanwhile would queue behind it and, after a slow PLAY, overflow the
    // queue: the client got that keyframe, then frames seconds later whose references were
    // dropped (decoders reported "Missing reference picture"). Holding the feed instead makes the
    // stream after PLAY continue from that keyframe, frame after frame, with continuous
    // timestamps — late by how long PLAY took, like a camera with a deep buffer.
    return;
  }
  const size_t index = feed.next_index;
  feed.next_index = (index + 1) % clip.frame_count();
  // A shallow copy: new metadata (timestamps) around the clip's memory, which is only ref'ed.
  GstBuffer* buffer = gst_buffer_copy(clip.access_units[index].get());
  const GstClockTime pts =
      feed.first_pts + gst_util_uint64_scale(feed.frames_pushed, GST_SECOND, clip.fps);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DTS(buffer) = pts;  // no B-frames
  GST_BUFFER_DURATION(buffer) = gst_util_uint64_scale(1, GST_SECOND, clip.fps);
  if (feed.frames_pushed == 0) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  ++feed.frames_pushed;
  // push_buffer takes the buffer. FLUSHING means the media is shutting down or restarting; if it
  // comes back, it must start again at a keyframe.
  if (gst_app_src_push_buffer(GST_APP_SRC(feed.appsrc.get()), buffer) != GST_FLOW_OK) {
    feed.started = false;
  }
}

void CameraServer::State::stop_pusher() {
  stopping = true;
  if (tick) gst_clock_id_unschedule(tick.get());
  if (pusher.joinable()) pusher.join();
}

// Closes the RTSP connections of every client that has a session on one of `medias`: to the
// client it looks like a camera that dropped off the network.
void CameraServer::State::disconnect_clients(std::set<GstRTSPMedia*>& medias) const {
  GObjectListPtr clients(gst_rtsp_server_client_filter(server.get(), nullptr, nullptr));
  for (GList* item = clients.get(); item != nullptr; item = item->next) {
    auto* client = static_cast<GstRTSPClient*>(item->data);
    GObjectListPtr sessions(gst_rtsp_client_session_filter(client, nullptr, nullptr));
    bool uses = false;
    for (GList* s = sessions.get(); s != nullptr && !uses; s = s->next) {
      uses = session_uses_any(static_cast<GstRTSPSession*>(s->data), medias);
    }
    if (uses) gst_rtsp_client_close(client);
  }
  // Sessions of UDP clients outlive their RTSP connection; drop those too.
  GObjectPtr<GstRTSPSessionPool> pool(gst_rtsp_server_get_session_pool(server.get()));
  GObjectListPtr removed(gst_rtsp_session_pool_filter(pool.get(), remove_sessions_using, &medias));
}

// Unprepares every media of the camera that is still prepared (one that was DESCRIBEd but never
// played has no session to remove). Not under the lock: "unprepared" handlers take it.
void CameraServer::State::unprepare(Camera& camera) const {
  std::vector<GObjectPtr<GstRTSPMedia>> medias;
  {
    std::lock_guard lock(mutex);
    for (const auto& feed : camera.feeds) medias.push_back(add_ref(feed->media.get()));
  }
  for (const auto& media : medias) gst_rtsp_media_unprepare(media.get());
}

CameraServer::State::~State() {
  stop_pusher();
  for (const auto& camera : cameras) {
    if (camera->configure_handler != 0) {
      g_signal_handler_disconnect(camera->factory.get(), camera->configure_handler);
    }
  }
  if (server) {
    GObjectListPtr clients(gst_rtsp_server_client_filter(server.get(), nullptr, nullptr));
    for (GList* item = clients.get(); item != nullptr; item = item->next) {
      gst_rtsp_client_close(static_cast<GstRTSPClient*>(item->data));
    }
    GObjectPtr<GstRTSPSessionPool> pool(gst_rtsp_server_get_session_pool(server.get()));
    GObjectListPtr removed(gst_rtsp_session_pool_filter(pool.get(), remove_all_sessions, nullptr));
  }
  for (const auto& camera : cameras) {
    unprepare(*camera);
    std::vector<std::shared_ptr<Feed>> feeds;
    {
      std::lock_guard lock(mutex);
      feeds.swap(camera->feeds);
    }
  }
  if (mounts) {
    for (const auto& camera : cameras) {
      gst_rtsp_mount_points_remove_factory(mounts.get(), camera->path.c_str());
    }
  }
}

Result<std::unique_ptr<CameraServer>> CameraServer::create(const ServerConfig& config) {
  if (config.camera_codecs.empty()) {
    return make_error(ErrorKind::kInvalidArgument, "no cameras to serve");
  }
  std::unique_ptr<CameraServer> self(new CameraServer());
  self->state_ = std::make_unique<State>();
  State& state = *self->state_;

  state.server.reset(gst_rtsp_server_new());
  GObjectPtr<GstRTSPThreadPool> pool(gst_rtsp_server_get_thread_pool(state.server.get()));
  gst_rtsp_thread_pool_set_max_threads(
      pool.get(), static_cast<gint>(std::min<size_t>(config.camera_codecs.size(), 64) *
                                    kClientThreadsPerCamera));
  gst_rtsp_server_set_address(state.server.get(), config.address.c_str());
  gst_rtsp_server_set_service(state.server.get(), std::to_string(config.port).c_str());
  state.mounts.reset(gst_rtsp_server_get_mount_points(state.server.get()));

  if (config.credentials) {
    state.auth.reset(gst_rtsp_auth_new());
    RtspTokenPtr token(
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, kViewerRole, nullptr));
    if (config.credentials->digest) {
      gst_rtsp_auth_add_digest(state.auth.get(), config.credentials->user.c_str(),
                               config.credentials->password.c_str(), token.get());
      gst_rtsp_auth_set_supported_methods(state.auth.get(), GST_RTSP_AUTH_DIGEST);
    } else {
      GCharPtr basic(gst_rtsp_auth_make_basic(config.credentials->user.c_str(),
                                              config.credentials->password.c_str()));
      gst_rtsp_auth_add_basic(state.auth.get(), basic.get(), token.get());
    }
    gst_rtsp_server_set_auth(state.server.get(), state.auth.get());
  }

  const size_t count = config.camera_codecs.size();
  for (size_t i = 0; i < count; ++i) {
    auto camera = std::make_unique<Camera>();
    camera->mutex = &state.mutex;
    camera->name = "cam" + std::to_string(i + 1);
    camera->path = "/" + camera->name;
    camera->codec = config.camera_codecs[i];

    camera->factory.reset(gst_rtsp_media_factory_new());
    GstRTSPMediaFactory* factory = camera->factory.get();
    gst_rtsp_media_factory_set_launch(factory, launch_description(config.camera_codecs[i]).c_str());
    // One pipeline per camera however many clients watch it, like a camera's single encoder.
    gst_rtsp_media_factory_set_shared(factory, TRUE);
    if (state.auth) {
      gst_rtsp_media_factory_add_role(factory, kViewerRole, GST_RTSP_PERM_MEDIA_FACTORY_ACCESS,
                                      G_TYPE_BOOLEAN, TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT,
                                      G_TYPE_BOOLEAN, TRUE, nullptr);
    }
    camera->configure_handler =
        g_signal_connect(factory, "media-configure", G_CALLBACK(on_media_configure), camera.get());
    // add_factory takes a reference of its own.
    gst_rtsp_mount_points_add_factory(state.mounts.get(), camera->path.c_str(),
                                      add_ref(factory).release());
    state.cameras.push_back(std::move(camera));
  }

  GError* raw_error = nullptr;
  GSource* source = gst_rtsp_server_create_source(state.server.get(), nullptr, &raw_error);
  GErrorPtr error(raw_error);
  if (source == nullptr) {
    return make_error(ErrorKind::kUnavailable, "cannot listen on " + config.address + ":" +
                                                   std::to_string(config.port) + ": " +
                                                   (error ? error->message : "unknown error"));
  }
  state.listen_source.reset(source);
  const int bound_port = gst_rtsp_server_get_bound_port(state.server.get());
  self->port_ = bound_port > 0 ? static_cast<uint16_t>(bound_port) : config.port;
  return self;
}

Status CameraServer::start(std::map<Codec, Clip> clips) {
  State& state = *state_;
  if (state.pusher.joinable()) return make_error(ErrorKind::kFailedPrecondition, "already started");
  state.clips = std::move(clips);
  const size_t count = state.cameras.size();
  for (size_t i = 0; i < count; ++i) {
    Camera& camera = *state.cameras[i];
    auto clip = state.clips.find(camera.codec);
    if (clip == state.clips.end()) {
      return make_error(ErrorKind::kInternal,
                        "no " + std::string(codec_name(camera.codec)) + " clip was encoded");
    }
    camera.clip = &clip->second;
    camera.phase = (static_cast<uint64_t>(i) * camera.clip->gop_frames) / count;
  }
  state.fps = state.clips.begin()->second.fps;

  g_source_attach(state.listen_source.get(), nullptr);
  state.clock.reset(gst_system_clock_obtain());
  const GstClockTime frame_duration = gst_util_uint64_scale(1, GST_SECOND, state.fps);
  state.tick.reset(gst_clock_new_periodic_id(
      state.clock.get(), gst_clock_get_time(state.clock.get()), frame_duration));
  State* state_pointer = &state;
  state.pusher = std::thread([state_pointer] {
    try {
      state_pointer->run_pusher();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "yardwatch-camsim: pusher thread failed: %s\n", e.what());
    }
  });
  return ok_status();
}

CameraServer::~CameraServer() = default;

size_t CameraServer::camera_count() const { return state_->cameras.size(); }

Status CameraServer::set_online(const std::string& camera_name, bool online) {
  auto it =
      std::find_if(state_->cameras.begin(), state_->cameras.end(),
                   [&camera_name](const auto& camera) { return camera->name == camera_name; });
  if (it == state_->cameras.end()) {
    return make_error(ErrorKind::kNotFound, "no camera named '" + camera_name + "'");
  }
  Camera& camera = **it;
  // References, so that no media can go away and its address be reused while it is matched.
  std::vector<GObjectPtr<GstRTSPMedia>> medias;
  {
    std::lock_guard lock(state_->mutex);
    if (camera.online == online) return ok_status();
    // From here on the pusher skips the camera.
    camera.online = online;
    for (const auto& feed : camera.feeds) medias.push_back(add_ref(feed->media.get()));
  }
  if (online) {
    gst_rtsp_mount_points_add_factory(state_->mounts.get(), camera.path.c_str(),
                                      add_ref(camera.factory.get()).release());
    return ok_status();
  }
  // First the mount, so nobody can connect again while the old clients are being dropped.
  gst_rtsp_mount_points_remove_factory(state_->mounts.get(), camera.path.c_str());
  std::set<GstRTSPMedia*> media_set;
  for (const auto& media : medias) media_set.insert(media.get());
  state_->disconnect_clients(media_set);
  state_->unprepare(camera);
  return ok_status();
}

std::vector<CameraStatus> CameraServer::status() const {
  std::vector<CameraStatus> result;
  std::lock_guard lock(state_->mutex);
  for (const auto& camera : state_->cameras) result.push_back({camera->name, camera->online});
  return result;
}

}  // namespace yardwatch::camsim
