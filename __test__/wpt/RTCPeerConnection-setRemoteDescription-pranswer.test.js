'use strict';

require('./runner/suite')('RTCPeerConnection-setRemoteDescription-pranswer.html');
