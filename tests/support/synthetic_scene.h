#pragma once

// A synthetic school yard with drawn faces whose boxes the caller chooses, for the redaction
// test (tests/recorder/redaction_test.cpp) and the redaction benchmark
// (tools/bench/bench_redaction): a smooth background (grass and sky) and faces with a fine random
// texture, so that blurring is measurable as lost high-frequency energy. Header-only, OpenCV
// only (no Catch2), so that a benchmark can include it.

#include <algorithm>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <random>

namespace yardwatch::testing {

// Fills the frame with a smooth vertical gradient: grass and sky.
inline void draw_yard(cv::Mat& frame) {
  for (int y = 0; y < frame.rows; ++y) {
    frame.row(y).setTo(cv::Scalar(90 + y / 4, 140 + y / 6, 90));
  }
}

// A face in `box`: a skin patch with a fine random texture (2-pixel cells, the same for the same
// seed), eyes and a mouth scaled to the box (sized for a 48-pixel-wide box).
inline void draw_face(cv::Mat& frame, const cv::Rect& box, unsigned seed) {
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> shade(-60, 60);
  cv::Mat patch(box.height, box.width, CV_8UC3, cv::Scalar(120, 150, 200));
  for (int y = 0; y < box.height; y += 2) {
    for (int x = 0; x < box.width; x += 2) {
      const int d = shade(random);
      cv::rectangle(patch, {x, y, 2, 2}, cv::Scalar(120 + d, 150 + d, 200 + d), cv::FILLED);
    }
  }
  const double scale = box.width / 48.0;
  const auto size = [scale](int width, int height) {
    return cv::Size(std::max(1, static_cast<int>(width * scale)),
                    std::max(1, static_cast<int>(height * scale)));
  };
  cv::ellipse(patch, {box.width * 3 / 10, box.height * 4 / 10}, size(6, 4), 0, 0, 360,
              cv::Scalar(30, 30, 30), cv::FILLED);
  cv::ellipse(patch, {box.width * 7 / 10, box.height * 4 / 10}, size(6, 4), 0, 0, 360,
              cv::Scalar(30, 30, 30), cv::FILLED);
  cv::ellipse(patch, {box.width / 2, box.height * 3 / 4}, size(10, 4), 0, 0, 360,
              cv::Scalar(40, 40, 120), cv::FILLED);
  patch.copyTo(frame(box));  // the box lies inside the frame
}

}  // namespace yardwatch::testing
