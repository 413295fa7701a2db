'use strict';

require('./runner/suite')('RTCPeerConnection-setLocalDescription-pranswer.html');
