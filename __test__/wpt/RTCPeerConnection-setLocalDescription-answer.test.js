'use strict';

require('./runner/suite')('RTCPeerConnection-setLocalDescription-answer.html');
