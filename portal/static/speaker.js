/* Turns each step's audio player into one big speaker button that plays and pauses.
   Plain ES5 for old phones; the page works the same without it. */
(function () {
  "use strict";
  function enhance(box) {
    var audio = box.querySelector("audio");
    var button = box.querySelector(".speaker-button");
    var label = box.querySelector(".speaker-label");
    if (!audio || !button || typeof audio.play !== "function" || box.getAttribute("data-ready")) {
      return;
    }
    box.setAttribute("data-ready", "1");
    function pressed(on) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
    }
    button.addEventListener("click", function () {
      if (audio.paused) {
        var playing = audio.play();
        if (playing && playing.catch) {
          playing.catch(function () { pressed(false); });
        }
      } else {
        audio.pause();
      }
    });
    audio.addEventListener("play", function () { pressed(true); });
    audio.addEventListener("pause", function () { pressed(false); });
    audio.addEventListener("ended", function () { pressed(false); });
    audio.addEventListener("error", function () { pressed(false); });
    audio.removeAttribute("controls");
    audio.hidden = true;
    if (label) {
      label.hidden = true;
    }
    button.hidden = false;
  }
  var boxes = document.querySelectorAll(".speaker");
  for (var i = 0; i < boxes.length; i += 1) {
    enhance(boxes[i]);
  }
}());
