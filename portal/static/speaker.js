/* Turns each audio player into one speaker button that plays and stops; while it plays,
   aria-pressed="true" (CSS then shows "Playing… Stop"). One clip at a time.
   Plain ES5 for old phones; the page works the same without it. */
(function () {
  "use strict";
  var players = document.getElementsByTagName("audio");
  function stop(audio) {
    audio.pause();
    if (audio.currentTime) {
      audio.currentTime = 0;
    }
  }
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
        stop(audio);
      }
    });
    audio.addEventListener("play", function () {
      for (var i = 0; i < players.length; i += 1) {
        if (players[i] !== audio) {
          stop(players[i]);
        }
      }
      pressed(true);
    });
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
