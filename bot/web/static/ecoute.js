// Listen counting, and nothing else: the page works without it. A recording
// played for 5 seconds (or to its end) is reported once, with no data but
// the recording's own address.
(function () {
  "use strict";
  var ENOUGH_S = 5;
  document.querySelectorAll("audio[data-ecoute]").forEach(function (audio) {
    var played = 0;
    var last = null;
    var sent = false;
    function report() {
      if (sent || !navigator.sendBeacon) { return; }
      sent = navigator.sendBeacon(audio.dataset.ecoute, "");
    }
    audio.addEventListener("timeupdate", function () {
      var now = audio.currentTime;
      if (last !== null && now > last && now - last < 2) { played += now - last; }
      last = now;
      if (played >= ENOUGH_S) { report(); }
    });
    audio.addEventListener("seeking", function () { last = null; });
    audio.addEventListener("ended", report);
  });
})();
