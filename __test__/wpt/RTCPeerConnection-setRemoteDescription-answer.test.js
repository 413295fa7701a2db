'use strict';

require('./runner/suite')('RTCPeerConnection-setRemoteDescription-answer.html');
