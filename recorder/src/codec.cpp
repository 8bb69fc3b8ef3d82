#include "yardwatch/recorder/fmp4.h"

namespace yardwatch::recorder {

std::string_view codec_name(VideoCodec codec) {
  switch (codec) {
    case VideoCodec::kH264:
      return "h264";
    case VideoCodec::kH265:
      return "h265";
  }
  return "unknown";
}

}  // namespace yardwatch::recorder
