'use strict';

require('./runner/suite')('RTCPeerConnection-setLocalDescription-rollback.html');
